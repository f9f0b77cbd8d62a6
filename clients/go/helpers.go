package mnemo

import (
	"strings"

	mnemov1 "github.com/mnemo-ai/mnemo/clients/go/gen/mnemo/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// KnownMessageTypes are the LettaMessage types this version of the client was written
// against. A newer server may send others; the helpers and iterators pass them through.
var KnownMessageTypes = map[string]bool{
	"system_message": true, "user_message": true, "assistant_message": true, "reasoning_message": true,
	"hidden_reasoning_message": true, "tool_call_message": true, "tool_return_message": true,
	"approval_request_message": true, "approval_response_message": true, "summary_message": true,
	"event_message": true, "stop_reason": true, "usage_statistics": true, "ping": true, "error_message": true,
}

// IsKnownMessageType tells whether this client knows the message's type.
func IsKnownMessageType(m *mnemov1.LettaMessage) bool { return KnownMessageTypes[m.GetMessageType()] }

// UserMessage is one user message with text content.
func UserMessage(text string) *mnemov1.MessageCreate {
	return &mnemov1.MessageCreate{Role: proto.String("user"), Content: structpb.NewStringValue(text)}
}

// SendRequest is a SendMessageRequest with one user message.
func SendRequest(agentID, text string) *mnemov1.SendMessageRequest {
	return &mnemov1.SendMessageRequest{AgentId: agentID, Messages: []*mnemov1.MessageCreate{UserMessage(text)}}
}

// ValueText is the text of a message content: a string, or the text parts of a list, joined.
func ValueText(v *structpb.Value) string {
	switch kind := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		return kind.StringValue
	case *structpb.Value_ListValue:
		var b strings.Builder
		for _, part := range kind.ListValue.GetValues() {
			switch p := part.GetKind().(type) {
			case *structpb.Value_StringValue:
				b.WriteString(p.StringValue)
			case *structpb.Value_StructValue:
				b.WriteString(p.StructValue.GetFields()["text"].GetStringValue())
			}
		}
		return b.String()
	}
	return ""
}

// MessageText is the readable text of a message whatever its type: content, reasoning, a
// tool's return, a summary or an error message. Empty for types without text (including
// unknown ones).
func MessageText(m *mnemov1.LettaMessage) string {
	for _, s := range []string{ValueText(m.GetContent()), m.GetReasoning(), m.GetToolReturn(), m.GetSummary(),
		m.GetMessage()} {
		if s != "" {
			return s
		}
	}
	return ""
}

// StreamedText joins the text of every message of one type (e.g. "assistant_message"
// deltas of a token stream).
func StreamedText(messages []*mnemov1.LettaMessage, messageType string) string {
	var b strings.Builder
	for _, m := range messages {
		if m.GetMessageType() == messageType {
			b.WriteString(ValueText(m.GetContent()))
		}
	}
	return b.String()
}

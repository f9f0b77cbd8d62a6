// Helpers to build requests and read LettaMessages. They only look at the fields they know
// and never fail on a message_type they have not heard of: a newer server can add message
// types (and fields, which the generated types keep as unknown fields) without breaking
// an older client.
import { create } from "@bufbuild/protobuf";
import type { JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { fromJson } from "@bufbuild/protobuf";
import {
  MessageCreateSchema,
  SendMessageRequestSchema,
  type LettaMessage,
  type MessageCreate,
  type SendMessageRequest,
} from "./gen/mnemo/v1/messages_pb.js";
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";

/** The plain-object form of a message's fields, without `keys` (for options-style arguments). */
export type FieldsOf<S extends DescMessage, K extends string = never> = Omit<
  Exclude<MessageInitShape<S>, MessageShape<S>>,
  K | "$typeName"
>;

/** Optional fields of a SendMessageRequest besides the agent id (maxSteps, streamTokens, ...). */
export type SendFields = FieldsOf<typeof SendMessageRequestSchema, "agentId">;

/** The message types this version of the client was written against. Others are passed through. */
export const KNOWN_MESSAGE_TYPES: ReadonlySet<string> = new Set([
  "system_message", "user_message", "assistant_message", "reasoning_message", "hidden_reasoning_message",
  "tool_call_message", "tool_return_message", "approval_request_message", "approval_response_message",
  "summary_message", "event_message", "stop_reason", "usage_statistics", "ping", "error_message",
]);

export function isKnownMessageType(message: Pick<LettaMessage, "messageType">): boolean {
  return KNOWN_MESSAGE_TYPES.has(message.messageType);
}

/** A google.protobuf.Value from plain JSON data. */
export function toValue(data: JsonValue): Value {
  return fromJson(ValueSchema, data);
}

/** One user message: a string, or content parts like [{type: "text", text: "..."}]. */
export function userMessage(text: string | JsonValue[]): MessageCreate {
  return create(MessageCreateSchema, { role: "user", content: toValue(text) });
}

/** A SendMessageRequest with one user message `text` and any other fields. */
export function sendRequest(
  agentId: string,
  text?: string,
  fields: SendFields = {},
): SendMessageRequest {
  const request = create(SendMessageRequestSchema, { ...fields, agentId });
  if (text !== undefined) {
    request.messages.push(userMessage(text));
  }
  return request;
}

/** The text of a message content: a string, or the text parts of a list, joined. */
export function valueText(value: Value | undefined): string {
  const kind = value?.kind;
  if (kind?.case === "stringValue") {
    return kind.value;
  }
  if (kind?.case === "listValue") {
    return kind.value.values
      .map((part) => {
        if (part.kind.case === "stringValue") return part.kind.value;
        if (part.kind.case === "structValue") {
          const text = part.kind.value.fields["text"];
          return text?.kind.case === "stringValue" ? text.kind.value : "";
        }
        return "";
      })
      .join("");
  }
  return "";
}

/**
 * The readable text of a message whatever its type: content, reasoning, a tool's return, a
 * summary or an error message. Empty for types without text (including unknown ones).
 */
export function messageText(message: LettaMessage): string {
  return (
    valueText(message.content) ||
    message.reasoning ||
    message.toolReturn ||
    message.summary ||
    message.message ||
    ""
  );
}

/** Joins the text of every message of one type, e.g. the deltas of a token stream. */
export function streamedText(messages: Iterable<LettaMessage>, messageType = "assistant_message"): string {
  let text = "";
  for (const message of messages) {
    if (message.messageType === messageType) {
      text += valueText(message.content);
    }
  }
  return text;
}

package mnemo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	mnemov1 "github.com/mnemo-ai/mnemo/clients/go/gen/mnemo/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// futureMessage is a LettaMessage as a newer server might send it: a message type this
// client does not know, and two fields (999, 1000) that are not in its contract.
func futureMessageBytes(t *testing.T) []byte {
	t.Helper()
	known, err := proto.Marshal(&mnemov1.LettaMessage{
		Id: proto.String("message-1"), MessageType: "hologram_message", Content: structpb.NewStringValue("still readable"),
	})
	if err != nil {
		t.Fatal(err)
	}
	b := protowire.AppendTag(known, 999, protowire.VarintType)
	b = protowire.AppendVarint(b, 42)
	b = protowire.AppendTag(b, 1000, protowire.BytesType)
	return protowire.AppendString(b, "a field from the future")
}

func TestUnknownFieldsAreSkippedAndKept(t *testing.T) {
	var m mnemov1.LettaMessage
	if err := proto.Unmarshal(futureMessageBytes(t), &m); err != nil {
		t.Fatalf("decoding a message with unknown fields failed: %v", err)
	}
	if m.GetId() != "message-1" || m.GetMessageType() != "hologram_message" || MessageText(&m) != "still readable" {
		t.Fatalf("known fields were not decoded: %v", &m)
	}
	if len(m.ProtoReflect().GetUnknown()) == 0 {
		t.Fatal("unknown fields were dropped")
	}
	again, err := proto.Marshal(&m)
	if err != nil {
		t.Fatal(err)
	}
	var round mnemov1.LettaMessage
	if err := proto.Unmarshal(again, &round); err != nil || len(round.ProtoReflect().GetUnknown()) == 0 {
		t.Fatalf("unknown fields were not re-encoded: %v", err)
	}
}

func TestHelpersPassUnknownMessageTypesThrough(t *testing.T) {
	var future mnemov1.LettaMessage
	if err := proto.Unmarshal(futureMessageBytes(t), &future); err != nil {
		t.Fatal(err)
	}
	parts, _ := structpb.NewList([]any{map[string]any{"type": "text", "text": "lo"}})
	messages := []*mnemov1.LettaMessage{
		{MessageType: "assistant_message", Content: structpb.NewStringValue("Hel")},
		&future,
		{MessageType: "brand_new_event"},
		{MessageType: "assistant_message", Content: structpb.NewListValue(parts)},
	}
	if !IsKnownMessageType(messages[0]) || IsKnownMessageType(messages[1]) {
		t.Fatal("IsKnownMessageType is wrong")
	}
	if got := MessageText(messages[2]); got != "" {
		t.Fatalf("MessageText of an unknown type = %q", got)
	}
	if got := StreamedText(messages, "assistant_message"); got != "Hello" {
		t.Fatalf("StreamedText = %q", got)
	}
}

// fakeServer implements just enough of the contract for the tests below.
type fakeServer struct {
	mnemov1.UnimplementedMessageServiceServer
	mnemov1.UnimplementedAgentServiceServer
	future []byte

	mu           sync.Mutex
	calls        []string
	listAttempts int
}

func (s *fakeServer) record(call string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
}

func (s *fakeServer) StreamMessages(req *mnemov1.SendMessageRequest,
	stream grpc.ServerStreamingServer[mnemov1.LettaMessage]) error {
	s.record("stream " + req.GetAgentId())
	var future mnemov1.LettaMessage
	if err := proto.Unmarshal(s.future, &future); err != nil {
		return err
	}
	for _, m := range []*mnemov1.LettaMessage{
		&future, // sent with its unknown fields
		{MessageType: "assistant_message", Content: structpb.NewStringValue("Hi ")},
		{MessageType: "assistant_message", Content: structpb.NewStringValue("there")},
		{MessageType: "stop_reason", StopReason: proto.String("end_turn")},
	} {
		if err := stream.Send(m); err != nil {
			return err
		}
	}
	return nil
}

func (s *fakeServer) GetAgent(_ context.Context, req *mnemov1.GetAgentRequest) (*mnemov1.Agent, error) {
	s.record("get " + req.GetAgentId())
	return nil, status.Errorf(codes.NotFound, "agent %s not found", req.GetAgentId())
}

func (s *fakeServer) UpdateAgent(context.Context, *mnemov1.UpdateAgentRequest) (*mnemov1.Agent, error) {
	s.record("update")
	return nil, status.Error(codes.Unavailable, "down")
}

func (s *fakeServer) DeleteAgent(context.Context, *mnemov1.DeleteAgentRequest) (*emptypb.Empty, error) {
	s.record("delete")
	return nil, status.Error(codes.Unavailable, "down")
}

func (s *fakeServer) CreateAgent(context.Context, *mnemov1.CreateAgentRequest) (*mnemov1.Agent, error) {
	s.record("create")
	return nil, status.Error(codes.Unavailable, "down")
}

func (s *fakeServer) ListAgents(_ context.Context, req *mnemov1.ListAgentsRequest) (*mnemov1.ListAgentsResponse, error) {
	s.record(fmt.Sprintf("list after=%s limit=%d", req.GetAfter(), req.GetLimit()))
	s.mu.Lock()
	s.listAttempts++
	attempt := s.listAttempts
	s.mu.Unlock()
	if attempt <= 2 {
		return nil, status.Error(codes.Unavailable, "try again")
	}
	var all []*mnemov1.Agent
	for i := range 7 {
		all = append(all, &mnemov1.Agent{Id: fmt.Sprintf("agent-%d", i)})
	}
	start := 0
	if req.GetAfter() != "" {
		start = slices.IndexFunc(all, func(a *mnemov1.Agent) bool { return a.GetId() == req.GetAfter() }) + 1
	}
	end := min(start+int(req.GetLimit()), len(all))
	return &mnemov1.ListAgentsResponse{Agents: all[start:end]}, nil
}

func startFake(t *testing.T) (*Client, *fakeServer) {
	t.Helper()
	listener := bufconn.Listen(1 << 20)
	server := grpc.NewServer()
	fake := &fakeServer{future: futureMessageBytes(t)}
	mnemov1.RegisterMessageServiceServer(server, fake)
	mnemov1.RegisterAgentServiceServer(server, fake)
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(server.Stop)
	client, err := New("passthrough:///bufnet",
		WithRetryBackoff(time.Millisecond),
		WithDialOptions(grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return listener.DialContext(ctx)
		})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client, fake
}

func TestStreamIteratesUnknownTypesAndFields(t *testing.T) {
	client, _ := startFake(t)
	var seen []*mnemov1.LettaMessage
	for m, err := range client.StreamMessages(context.Background(), "agent-1", "hello", true) {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, m)
	}
	var types []string
	for _, m := range seen {
		types = append(types, m.GetMessageType())
	}
	if !slices.Equal(types, []string{"hologram_message", "assistant_message", "assistant_message", "stop_reason"}) {
		t.Fatalf("types = %v", types)
	}
	if StreamedText(seen, "assistant_message") != "Hi there" {
		t.Fatalf("text = %q", StreamedText(seen, "assistant_message"))
	}
	if len(seen[0].ProtoReflect().GetUnknown()) == 0 {
		t.Fatal("unknown fields were not received")
	}
}

func TestErrorsCarryTheStatus(t *testing.T) {
	client, _ := startFake(t)
	_, err := client.Agents.GetAgent(context.Background(), &mnemov1.GetAgentRequest{AgentId: "agent-x"})
	var typed *Error
	if !errors.As(err, &typed) || typed.Code != codes.NotFound || typed.Message != "agent agent-x not found" {
		t.Fatalf("err = %#v", err)
	}
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
		t.Fatal("errors.Is does not match by code")
	}
	if status.Code(err) != codes.NotFound {
		t.Fatal("status.Code does not see the gRPC status")
	}
}

func TestRetriesReadsOnlyAndPaginates(t *testing.T) {
	client, fake := startFake(t)
	var ids []string
	for agent, err := range client.EachAgent(context.Background(), &mnemov1.ListAgentsRequest{Limit: proto.Int32(3)}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, agent.GetId())
	}
	if len(ids) != 7 || ids[0] != "agent-0" || ids[6] != "agent-6" {
		t.Fatalf("ids = %v", ids)
	}
	want := []string{"list after= limit=3", "list after= limit=3", "list after= limit=3",
		"list after=agent-2 limit=3", "list after=agent-5 limit=3"}
	if !slices.Equal(fake.calls, want) {
		t.Fatalf("calls = %v", fake.calls)
	}
	fake.calls = nil
	if _, err := client.Agents.CreateAgent(context.Background(), &mnemov1.CreateAgentRequest{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if !slices.Equal(fake.calls, []string{"create"}) {
		t.Fatalf("a write was retried: %v", fake.calls)
	}
}

// Every service and RPC of the contract (as registered by the generated code) has an
// accessor on Client: a Services field whose stub interface has the RPC.
func TestEveryServiceAndRPCHasAnAccessor(t *testing.T) {
	services := reflect.TypeOf(Services{})
	byType := map[string]reflect.Type{}
	for i := range services.NumField() {
		byType[services.Field(i).Type.Name()] = services.Field(i).Type
	}
	seen := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("mnemo.v1", func(file protoreflect.FileDescriptor) bool {
		for i := range file.Services().Len() {
			service := file.Services().Get(i)
			seen++
			stub, ok := byType[string(service.Name())+"Client"]
			if !ok {
				t.Errorf("no Client accessor for %s", service.FullName())
				continue
			}
			for j := range service.Methods().Len() {
				method := service.Methods().Get(j).Name()
				if _, ok := stub.MethodByName(string(method)); !ok {
					t.Errorf("%s has no method %s", stub.Name(), method)
				}
			}
		}
		return true
	})
	if seen < 12 {
		t.Fatalf("only %d services registered", seen)
	}
}

// Retries follow the contract's idempotency_level, not method names.
func TestRetriesFollowTheContract(t *testing.T) {
	for method, want := range map[string]bool{
		"/mnemo.v1.AgentService/GetAgent":         true, // NO_SIDE_EFFECTS
		"/mnemo.v1.PassageService/SearchPassages": true, // NO_SIDE_EFFECTS, not a Get/List/Count name
		"/mnemo.v1.AgentService/UpdateAgent":      true, // IDEMPOTENT
		"/mnemo.v1.AgentService/CreateAgent":      false,
		"/mnemo.v1.AgentService/DeleteAgent":      false,
		"/mnemo.v1.MessageService/SendMessage":    false,
		"/mnemo.v1.NoService/Nothing":             false,
	} {
		if got := idempotent(method); got != want {
			t.Errorf("idempotent(%s) = %v, want %v", method, got, want)
		}
	}
	client, fake := startFake(t)
	_, err := client.Agents.UpdateAgent(context.Background(), &mnemov1.UpdateAgentRequest{})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	_, err = client.Agents.DeleteAgent(context.Background(), &mnemov1.DeleteAgentRequest{})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	if !slices.Equal(fake.calls, []string{"update", "update", "update", "update", "delete"}) {
		t.Fatalf("calls = %v", fake.calls)
	}
}

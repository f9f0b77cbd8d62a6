package mnemo

import (
	"context"
	"io"
	"iter"
	"math/rand/v2"
	"strings"
	"time"

	mnemov1 "github.com/mnemo-ai/mnemo/clients/go/gen/mnemo/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// Client is a connection to a Mnemo server. The embedded Services fields are the
// generated stubs of every service of the contract (every RPC, typed); they run through
// interceptors that add the token, default timeouts, retries on UNAVAILABLE of the RPCs
// the contract declares safe to repeat, and *Error errors.
type Client struct {
	conn *grpc.ClientConn
	Services
}

type options struct {
	token              string
	timeout            time.Duration
	sendMessageTimeout time.Duration
	streamTimeout      time.Duration
	maxRetries         int
	retryBackoff       time.Duration
	creds              credentials.TransportCredentials
	dialOptions        []grpc.DialOption
}

// Option configures New.
type Option func(*options)

// WithToken sends `authorization: Bearer <token>` (the server's MNEMO_SERVER_PASSWORD).
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithTimeout sets the timeout of unary calls whose context has no deadline (default 30s; 0: none).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithSendMessageTimeout sets the timeout of SendMessage, which runs the agent loop (default 10m).
func WithSendMessageTimeout(d time.Duration) Option {
	return func(o *options) { o.sendMessageTimeout = d }
}

// WithStreamTimeout limits whole server streams (default 0: no limit).
func WithStreamTimeout(d time.Duration) Option { return func(o *options) { o.streamTimeout = d } }

// WithMaxRetries sets how often the RPCs the contract declares safe to repeat (reads, upserts,
// updates: idempotency_level) are retried on UNAVAILABLE (default 3). Other writes never are.
func WithMaxRetries(n int) Option { return func(o *options) { o.maxRetries = n } }

// WithRetryBackoff sets the first retry delay (default 100ms), doubled each time up to 2s, with jitter.
func WithRetryBackoff(d time.Duration) Option { return func(o *options) { o.retryBackoff = d } }

// WithTransportCredentials uses TLS or other credentials (default: plaintext).
func WithTransportCredentials(c credentials.TransportCredentials) Option {
	return func(o *options) { o.creds = c }
}

// WithDialOptions adds grpc.DialOptions (interceptors, keepalive, ...).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOptions = append(o.dialOptions, opts...) }
}

// New creates a client for the server at address ("host:port"). It connects lazily.
func New(address string, opts ...Option) (*Client, error) {
	o := &options{
		timeout: 30 * time.Second, sendMessageTimeout: 10 * time.Minute,
		maxRetries: 3, retryBackoff: 100 * time.Millisecond, creds: insecure.NewCredentials(),
	}
	for _, opt := range opts {
		opt(o)
	}
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(o.creds),
		grpc.WithChainUnaryInterceptor(o.unary),
		grpc.WithChainStreamInterceptor(o.stream),
	}, o.dialOptions...)
	conn, err := grpc.NewClient(address, dial...)
	if err != nil {
		return nil, err
	}
	return &Client{conn: conn, Services: newServices(conn)}, nil
}

// Conn is the underlying connection, with the client's interceptors: pass it to any
// generated New...ServiceClient (e.g. for a service added to the contract later).
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

const sendMessageMethod = "/mnemo.v1.MessageService/SendMessage"

// idempotent reports whether the contract declares the method ("/pkg.Service/Method") safe
// to repeat: option idempotency_level = NO_SIDE_EFFECTS or IDEMPOTENT.
func idempotent(method string) bool {
	name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(method, "/"), "/", "."))
	found, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return false
	}
	descriptor, ok := found.(protoreflect.MethodDescriptor)
	if !ok {
		return false
	}
	options, ok := descriptor.Options().(*descriptorpb.MethodOptions)
	if !ok || options == nil {
		return false
	}
	level := options.GetIdempotencyLevel()
	return level == descriptorpb.MethodOptions_NO_SIDE_EFFECTS || level == descriptorpb.MethodOptions_IDEMPOTENT
}

func (o *options) withToken(ctx context.Context) context.Context {
	if o.token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+o.token)
}

func (o *options) backoff(attempt int) time.Duration {
	d := min(o.retryBackoff<<attempt, 2*time.Second)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (o *options) unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, callOpts ...grpc.CallOption) error {
	ctx = o.withToken(ctx)
	if _, has := ctx.Deadline(); !has {
		timeout := o.timeout
		if method == sendMessageMethod {
			timeout = o.sendMessageTimeout
		}
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
	}
	retries := 0
	if idempotent(method) {
		retries = o.maxRetries
	}
	for attempt := 0; ; attempt++ {
		err := invoker(ctx, method, req, reply, cc, callOpts...)
		if err == nil || status.Code(err) != codes.Unavailable || attempt >= retries {
			return wrapError(err)
		}
		select {
		case <-time.After(o.backoff(attempt)):
		case <-ctx.Done():
			return wrapError(err)
		}
	}
}

func (o *options) stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
	streamer grpc.Streamer, callOpts ...grpc.CallOption) (grpc.ClientStream, error) {
	ctx = o.withToken(ctx)
	cancel := context.CancelFunc(func() {})
	if _, has := ctx.Deadline(); !has && o.streamTimeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, o.streamTimeout)
	}
	s, err := streamer(ctx, desc, cc, method, callOpts...)
	if err != nil {
		cancel()
		return nil, wrapError(err)
	}
	return &clientStream{ClientStream: s, cancel: cancel}, nil
}

type clientStream struct {
	grpc.ClientStream
	cancel context.CancelFunc
}

func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.cancel()
		if err == io.EOF {
			return err
		}
		return wrapError(err)
	}
	return nil
}

// Iterate turns a server stream into an iterator: for msg, err := range mnemo.Iterate(...).
// Leaving the loop early cancels the call. An error ends the iteration after being yielded.
func Iterate[T any](ctx context.Context,
	open func(ctx context.Context) (grpc.ServerStreamingClient[T], error)) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		stream, err := open(ctx)
		if err != nil {
			yield(nil, err)
			return
		}
		for {
			msg, err := stream.Recv()
			if err == io.EOF {
				return
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(msg, nil) {
				return
			}
		}
	}
}

// Stream sends a request to StreamMessages and iterates the agent's messages as they happen,
// ending with "stop_reason" and "usage_statistics" events.
func (c *Client) Stream(ctx context.Context, req *mnemov1.SendMessageRequest) iter.Seq2[*mnemov1.LettaMessage, error] {
	return Iterate(ctx, func(ctx context.Context) (grpc.ServerStreamingClient[mnemov1.LettaMessage], error) {
		return c.Messages.StreamMessages(ctx, req)
	})
}

// StreamMessages sends text to an agent and iterates its messages; with streamTokens, text
// arrives in deltas (same id).
func (c *Client) StreamMessages(ctx context.Context, agentID, text string,
	streamTokens bool) iter.Seq2[*mnemov1.LettaMessage, error] {
	req := SendRequest(agentID, text)
	req.StreamTokens = proto.Bool(streamTokens)
	return c.Stream(ctx, req)
}

// SendMessage sends text to an agent and waits for its whole turn.
func (c *Client) SendMessage(ctx context.Context, agentID, text string) (*mnemov1.SendMessageResponse, error) {
	return c.Messages.SendMessage(ctx, SendRequest(agentID, text))
}

// GetBlock returns an agent's memory block by label.
func (c *Client) GetBlock(ctx context.Context, agentID, label string) (*mnemov1.Block, error) {
	return c.Agents.GetAgentBlock(ctx, &mnemov1.GetAgentBlockRequest{AgentId: agentID, BlockLabel: label})
}

func pageSizeOf(limit *int32) int32 {
	if limit != nil && *limit > 0 {
		return *limit
	}
	return DefaultPageSize
}

// EachAgent iterates every agent matching req's filters (req may be nil), page by page;
// req.Limit is the page size.
func (c *Client) EachAgent(ctx context.Context, req *mnemov1.ListAgentsRequest) iter.Seq2[*mnemov1.Agent, error] {
	base := &mnemov1.ListAgentsRequest{}
	if req != nil {
		base = proto.CloneOf(req)
	}
	size := pageSizeOf(base.Limit)
	return Paginate(ctx, int(size), func(ctx context.Context, after string) ([]*mnemov1.Agent, error) {
		page := proto.CloneOf(base)
		page.Limit, page.After = proto.Int32(size), cursor(after)
		resp, err := c.Agents.ListAgents(ctx, page)
		return resp.GetAgents(), err
	}, (*mnemov1.Agent).GetId)
}

// EachBlock iterates every block matching req's filters (req may be nil).
func (c *Client) EachBlock(ctx context.Context, req *mnemov1.ListBlocksRequest) iter.Seq2[*mnemov1.Block, error] {
	base := &mnemov1.ListBlocksRequest{}
	if req != nil {
		base = proto.CloneOf(req)
	}
	size := pageSizeOf(base.Limit)
	return Paginate(ctx, int(size), func(ctx context.Context, after string) ([]*mnemov1.Block, error) {
		page := proto.CloneOf(base)
		page.Limit, page.After = proto.Int32(size), cursor(after)
		resp, err := c.Blocks.ListBlocks(ctx, page)
		return resp.GetBlocks(), err
	}, (*mnemov1.Block).GetId)
}

// EachTool iterates every tool matching req's filters (req may be nil).
func (c *Client) EachTool(ctx context.Context, req *mnemov1.ListToolsRequest) iter.Seq2[*mnemov1.Tool, error] {
	base := &mnemov1.ListToolsRequest{}
	if req != nil {
		base = proto.CloneOf(req)
	}
	size := pageSizeOf(base.Limit)
	return Paginate(ctx, int(size), func(ctx context.Context, after string) ([]*mnemov1.Tool, error) {
		page := proto.CloneOf(base)
		page.Limit, page.After = proto.Int32(size), cursor(after)
		resp, err := c.Tools.ListTools(ctx, page)
		return resp.GetTools(), err
	}, (*mnemov1.Tool).GetId)
}

// EachIdentity iterates every identity matching req's filters (req may be nil).
func (c *Client) EachIdentity(ctx context.Context,
	req *mnemov1.ListIdentitiesRequest) iter.Seq2[*mnemov1.Identity, error] {
	base := &mnemov1.ListIdentitiesRequest{}
	if req != nil {
		base = proto.CloneOf(req)
	}
	size := pageSizeOf(base.Limit)
	return Paginate(ctx, int(size), func(ctx context.Context, after string) ([]*mnemov1.Identity, error) {
		page := proto.CloneOf(base)
		page.Limit, page.After = proto.Int32(size), cursor(after)
		resp, err := c.Identities.ListIdentities(ctx, page)
		return resp.GetIdentities(), err
	}, (*mnemov1.Identity).GetId)
}

// EachMessage iterates every message of an agent (newest first unless req.Order is "asc").
// A page holds req.Limit stored messages, each shown as one or more LettaMessages, so only
// an empty page ends the iteration.
func (c *Client) EachMessage(ctx context.Context, agentID string,
	req *mnemov1.ListMessagesRequest) iter.Seq2[*mnemov1.LettaMessage, error] {
	base := &mnemov1.ListMessagesRequest{}
	if req != nil {
		base = proto.CloneOf(req)
	}
	base.AgentId = agentID
	size := pageSizeOf(base.Limit)
	return Paginate(ctx, 0, func(ctx context.Context, after string) ([]*mnemov1.LettaMessage, error) {
		page := proto.CloneOf(base)
		page.Limit, page.After = proto.Int32(size), cursor(after)
		resp, err := c.Messages.ListMessages(ctx, page)
		return resp.GetMessages(), err
	}, (*mnemov1.LettaMessage).GetId)
}

func cursor(after string) *string {
	if after == "" {
		return nil
	}
	return proto.String(after)
}

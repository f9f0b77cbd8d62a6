// Mnemo's TypeScript client: the generated protobuf-es types and service descriptors,
// served by connect-node over the gRPC protocol, with a thin layer for the token,
// timeouts, retries of reads, typed errors, streams and pagination.
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { createClient, type CallOptions, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { ListAgentsRequestSchema, type Agent } from "./gen/mnemo/v1/agents_pb.js";
import { ListBlocksRequestSchema, type Block } from "./gen/mnemo/v1/blocks_pb.js";
import { IdentityService, ListIdentitiesRequestSchema, type Identity } from "./gen/mnemo/v1/identities_pb.js";
import {
  ListMessagesRequestSchema,
  type LettaMessage,
  type SendMessageResponse,
} from "./gen/mnemo/v1/messages_pb.js";
import { ListToolsRequestSchema, type Tool } from "./gen/mnemo/v1/tools_pb.js";
import { SERVICES } from "./gen/services.js";
import { Code, MnemoError, toMnemoError } from "./errors.js";
import { sendRequest, type FieldsOf, type SendFields } from "./helpers.js";
import { DEFAULT_PAGE_SIZE, paginate } from "./pagination.js";

export * from "./errors.js";
export * from "./helpers.js";
export * from "./pagination.js";
export * as agents from "./gen/mnemo/v1/agents_pb.js";
export * as blocks from "./gen/mnemo/v1/blocks_pb.js";
export * as chat from "./gen/mnemo/v1/chat_pb.js";
export * as common from "./gen/mnemo/v1/common_pb.js";
export * as health from "./gen/mnemo/v1/health_pb.js";
export * as identities from "./gen/mnemo/v1/identities_pb.js";
export * as jobs from "./gen/mnemo/v1/jobs_pb.js";
export * as messages from "./gen/mnemo/v1/messages_pb.js";
export * as models from "./gen/mnemo/v1/models_pb.js";
export * as passages from "./gen/mnemo/v1/passages_pb.js";
export * as providers from "./gen/mnemo/v1/providers_pb.js";
export * as runs from "./gen/mnemo/v1/runs_pb.js";
export * as tags from "./gen/mnemo/v1/tags_pb.js";
export * as tools from "./gen/mnemo/v1/tools_pb.js";
export { SERVICES } from "./gen/services.js";
export { create, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
export type { Client, CallOptions, Interceptor, Transport };

/** The contract version this client was generated from (same as the server's). */
export const VERSION = "0.1.0";

export interface MnemoClientOptions {
  /** "host:port" (default "127.0.0.1:50051"), or a URL "http://host:port" / "https://host:port". */
  address?: string;
  /** Sent as `authorization: Bearer <token>` (the server's MNEMO_SERVER_PASSWORD). */
  token?: string;
  /** Timeout of each unary call, in ms (default 30 000). 0 disables it. */
  timeoutMs?: number;
  /** Timeout of SendMessage, which runs the agent loop, in ms (default 600 000). */
  sendMessageTimeoutMs?: number;
  /** Timeout of a whole server stream, in ms; none by default. */
  streamTimeoutMs?: number;
  /**
   * How often the RPCs the contract declares safe to repeat (`idempotency_level`: reads, upserts,
   * updates) are retried on UNAVAILABLE (default 3). Other writes never are.
   */
  maxRetries?: number;
  /** First retry delay in ms (default 100), doubled each time up to 2 000, with jitter. */
  retryBackoffMs?: number;
  /** Extra connect interceptors. */
  interceptors?: Interceptor[];
  /** Use this transport instead of opening a gRPC (HTTP/2) connection. */
  transport?: Transport;
}

interface Policy {
  headers: Record<string, string>;
  timeoutMs: number;
  sendMessageTimeoutMs: number;
  streamTimeoutMs: number | undefined;
  maxRetries: number;
  retryBackoffMs: number;
}

/** Whether the contract declares `method` safe to repeat (NO_SIDE_EFFECTS or IDEMPOTENT). */
export function isRepeatable(method: DescMethod): boolean {
  return method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS
    || method.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT;
}
const LONG_RUNNING = new Set(["mnemo.v1.MessageService/SendMessage"]);

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

function withDefaults(options: CallOptions | undefined, policy: Policy, timeoutMs: number | undefined): CallOptions {
  const headers = new Headers(policy.headers);
  new Headers(options?.headers).forEach((value, key) => headers.set(key, value));
  const merged: CallOptions = { ...options, headers };
  if (merged.timeoutMs === undefined && timeoutMs) {
    merged.timeoutMs = timeoutMs;
  }
  return merged;
}

/**
 * Wraps a connect client of any generated service: the token and default timeouts are added
 * to every call, reads are retried on UNAVAILABLE, errors become MnemoErrors, and streams
 * stop (cancelling the call) when the `for await` loop is left.
 */
function wrapService<S extends DescService>(service: S, transport: Transport, policy: Policy): Client<S> {
  const raw = createClient(service, transport) as unknown as Record<
    string,
    (request: unknown, options?: CallOptions) => unknown
  >;
  const wrapped: Record<string, unknown> = {};
  for (const method of service.methods) {
    const call = raw[method.localName]!;
    const path = `${service.typeName}/${method.name}`;
    if (method.methodKind === "unary") {
      const timeoutMs = LONG_RUNNING.has(path) ? policy.sendMessageTimeoutMs : policy.timeoutMs;
      const retries = isRepeatable(method) ? policy.maxRetries : 0;
      wrapped[method.localName] = async (request: unknown, options?: CallOptions) => {
        for (let attempt = 0; ; attempt++) {
          try {
            return await (call(request, withDefaults(options, policy, timeoutMs)) as Promise<unknown>);
          } catch (error) {
            const typed = toMnemoError(error);
            if (typed.code !== Code.Unavailable || attempt >= retries) {
              throw typed;
            }
            const delay = Math.min(policy.retryBackoffMs * 2 ** attempt, 2000) * (0.5 + Math.random() / 2);
            await sleep(delay, options?.signal);
          }
        }
      };
    } else if (method.methodKind === "server_streaming") {
      wrapped[method.localName] = (request: unknown, options?: CallOptions) =>
        stream(call, request, withDefaults(options, policy, policy.streamTimeoutMs));
    } else {
      wrapped[method.localName] = call; // no client or bidi streaming in the contract today
    }
  }
  return wrapped as Client<S>;
}

async function* stream(
  call: (request: unknown, options?: CallOptions) => unknown,
  request: unknown,
  options: CallOptions,
): AsyncGenerator<unknown, void, undefined> {
  const abort = new AbortController();
  const outer = options.signal;
  const onAbort = () => abort.abort(outer?.reason);
  outer?.addEventListener("abort", onAbort, { once: true });
  try {
    yield* call(request, { ...options, signal: abort.signal }) as AsyncIterable<unknown>;
  } catch (error) {
    throw toMnemoError(error);
  } finally {
    outer?.removeEventListener("abort", onAbort);
    abort.abort(); // leaving the loop early cancels the call; harmless after it ended
  }
}

function baseUrl(address: string): string {
  return /^https?:\/\//.test(address) ? address : `http://${address}`;
}

/** A typed client for every service of the contract, by accessor (`agents`, `runs`, …). */
export type ServiceClients = { readonly [K in keyof typeof SERVICES]: Client<(typeof SERVICES)[K]> };

// MnemoClient carries one accessor per service of the contract (gen/services.ts).
export interface MnemoClient extends ServiceClients {}

/** A connection to a Mnemo server. Call `close()` when done so the process can exit. */
export class MnemoClient {
  readonly transport: Transport;
  private readonly policy: Policy;
  private readonly sessions: Http2SessionManager | undefined;

  constructor(options: MnemoClientOptions = {}) {
    this.policy = {
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      timeoutMs: options.timeoutMs ?? 30_000,
      sendMessageTimeoutMs: options.sendMessageTimeoutMs ?? 600_000,
      streamTimeoutMs: options.streamTimeoutMs,
      maxRetries: options.maxRetries ?? 3,
      retryBackoffMs: options.retryBackoffMs ?? 100,
    };
    if (options.transport) {
      this.transport = options.transport;
    } else {
      const url = baseUrl(options.address ?? "127.0.0.1:50051");
      this.sessions = new Http2SessionManager(url);
      this.transport = createGrpcTransport({
        baseUrl: url,
        sessionManager: this.sessions,
        interceptors: options.interceptors ?? [],
      });
    }
    for (const [name, service] of Object.entries(SERVICES)) {
      Object.defineProperty(this, name, { value: this.service(service), enumerable: true });
    }
  }

  /** A client for any generated service (e.g. one added to the contract later), with the same policy. */
  service<S extends DescService>(service: S): Client<S> {
    return wrapService(service, this.transport, this.policy);
  }

  /** Sends `text` to an agent and waits for its whole turn. */
  sendMessage(
    agentId: string,
    text?: string,
    fields: SendFields = {},
    options?: CallOptions,
  ): Promise<SendMessageResponse> {
    return this.messages.sendMessage(sendRequest(agentId, text, fields), options);
  }

  /**
   * Sends `text` and streams the agent's messages as they happen (`for await`); with
   * `streamTokens: true` text arrives in deltas. Ends with `stop_reason` and `usage_statistics`.
   */
  streamMessages(
    agentId: string,
    text?: string,
    fields: SendFields = {},
    options?: CallOptions,
  ): AsyncIterable<LettaMessage> {
    return this.messages.streamMessages(sendRequest(agentId, text, fields), options);
  }

  /** An agent's memory block, by label. */
  getBlock(agentId: string, label: string, options?: CallOptions): Promise<Block> {
    return this.agents.getAgentBlock({ agentId, blockLabel: label }, options);
  }

  /** Every agent matching the filters, page by page. */
  iterAgents(
    request: FieldsOf<typeof ListAgentsRequestSchema> = {},
    pageSize = DEFAULT_PAGE_SIZE,
  ): AsyncGenerator<Agent, void, undefined> {
    return paginate(async (after) => (await this.agents.listAgents({ ...request, after, limit: pageSize })).agents,
      pageSize);
  }

  iterBlocks(
    request: FieldsOf<typeof ListBlocksRequestSchema> = {},
    pageSize = DEFAULT_PAGE_SIZE,
  ): AsyncGenerator<Block, void, undefined> {
    return paginate(async (after) => (await this.blocks.listBlocks({ ...request, after, limit: pageSize })).blocks,
      pageSize);
  }

  iterTools(
    request: FieldsOf<typeof ListToolsRequestSchema> = {},
    pageSize = DEFAULT_PAGE_SIZE,
  ): AsyncGenerator<Tool, void, undefined> {
    return paginate(async (after) => (await this.tools.listTools({ ...request, after, limit: pageSize })).tools,
      pageSize);
  }

  iterIdentities(
    request: FieldsOf<typeof ListIdentitiesRequestSchema> = {},
    pageSize = DEFAULT_PAGE_SIZE,
  ): AsyncGenerator<Identity, void, undefined> {
    return paginate(
      async (after) => (await this.identities.listIdentities({ ...request, after, limit: pageSize })).identities,
      pageSize,
    );
  }

  /**
   * Every message of an agent (newest first unless `order: "asc"`). A page holds `pageSize`
   * stored messages, each shown as one or more LettaMessages, so only an empty page ends it.
   */
  iterMessages(
    agentId: string,
    request: FieldsOf<typeof ListMessagesRequestSchema, "agentId"> = {},
    pageSize = DEFAULT_PAGE_SIZE,
  ): AsyncGenerator<LettaMessage, void, undefined> {
    return paginate(
      async (after) => (await this.messages.listMessages({ ...request, agentId, after, limit: pageSize })).messages,
    );
  }

  /** Closes the connection. */
  close(): void {
    this.sessions?.abort();
  }
}

/** Connects to a Mnemo server: `connect({ address: "127.0.0.1:50051", token })`. */
export function connect(options: MnemoClientOptions = {}): MnemoClient {
  return new MnemoClient(options);
}

export { MnemoError };

// Unit tests of the hand-written layer, in process (no server): forward compatibility,
// error mapping, retries and pagination. Run with `npm test` (node --test through tsx).
import { strict as assert } from "node:assert";
import { test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, createRouterTransport } from "@connectrpc/connect";
import { readdir } from "node:fs/promises";
import type { DescService } from "@bufbuild/protobuf";
import { AgentSchema, AgentService } from "../src/gen/mnemo/v1/agents_pb.js";
import { PassageService } from "../src/gen/mnemo/v1/passages_pb.js";
import { LettaMessageSchema, MessageService } from "../src/gen/mnemo/v1/messages_pb.js";
import {
  SERVICES,
  isRepeatable,
  MnemoClient,
  MnemoError,
  NotFoundError,
  UnavailableError,
  isKnownMessageType,
  messageText,
  streamedText,
  toValue,
} from "../src/index.js";

/** A LettaMessage as a newer server might send it: a new message type and two new fields. */
function futureMessageBytes(): Uint8Array {
  const known = toBinary(LettaMessageSchema, create(LettaMessageSchema, {
    id: "message-1",
    messageType: "hologram_message",
    content: toValue("still readable"),
  }));
  const unknown = new BinaryWriter()
    .tag(999, WireType.Varint).uint32(42)
    .tag(1000, WireType.LengthDelimited).string("a field from the future")
    .finish();
  return new Uint8Array([...known, ...unknown]);
}

test("decoding skips unknown fields and keeps them for re-encoding", () => {
  const message = fromBinary(LettaMessageSchema, futureMessageBytes());
  assert.equal(message.id, "message-1");
  assert.equal(message.messageType, "hologram_message");
  assert.equal(messageText(message), "still readable");
  assert.deepEqual(message.$unknown?.map((f) => f.no), [999, 1000]);
  const again = fromBinary(LettaMessageSchema, toBinary(LettaMessageSchema, message));
  assert.deepEqual(again.$unknown?.map((f) => f.no), [999, 1000]);
});

test("helpers pass an unknown message_type through without failing", () => {
  const messages = [
    create(LettaMessageSchema, { messageType: "assistant_message", content: toValue("Hel") }),
    fromBinary(LettaMessageSchema, futureMessageBytes()),
    create(LettaMessageSchema, { messageType: "brand_new_event" }),
    create(LettaMessageSchema, { messageType: "assistant_message", content: toValue([{ type: "text", text: "lo" }]) }),
  ];
  assert.equal(isKnownMessageType(messages[0]!), true);
  assert.equal(isKnownMessageType(messages[1]!), false);
  assert.equal(messageText(messages[2]!), "");
  assert.equal(streamedText(messages), "Hello");
});

function fakeServer(calls: string[]) {
  let listAttempts = 0;
  const agents = Array.from({ length: 7 }, (_, i) => create(AgentSchema, { id: `agent-${i}` }));
  return createRouterTransport(({ service }) => {
    service(MessageService, {
      async *streamMessages(request) {
        calls.push(`stream ${request.agentId}`);
        // Written with unknown fields, as a newer server would send them.
        yield fromBinary(LettaMessageSchema, futureMessageBytes());
        yield create(LettaMessageSchema, { messageType: "assistant_message", content: toValue("Hi ") });
        yield create(LettaMessageSchema, { messageType: "assistant_message", content: toValue("there") });
        yield create(LettaMessageSchema, { messageType: "stop_reason", stopReason: "end_turn" });
      },
    });
    service(AgentService, {
      getAgent(request) {
        calls.push(`get ${request.agentId}`);
        throw new ConnectError(`agent ${request.agentId} not found`, Code.NotFound);
      },
      listAgents(request) {
        calls.push(`list after=${request.after ?? ""} limit=${request.limit}`);
        if (++listAttempts <= 2) {
          throw new ConnectError("try again", Code.Unavailable);
        }
        const start = request.after ? agents.findIndex((a) => a.id === request.after) + 1 : 0;
        return { agents: agents.slice(start, start + (request.limit ?? 100)) };
      },
      createAgent() {
        calls.push("create");
        throw new ConnectError("down", Code.Unavailable);
      },
      updateAgent() {
        calls.push("update");
        throw new ConnectError("down", Code.Unavailable);
      },
      deleteAgent() {
        calls.push("delete");
        throw new ConnectError("down", Code.Unavailable);
      },
    });
  });
}

test("a stream with an unknown message type and unknown fields is iterated to the end", async () => {
  const calls: string[] = [];
  const client = new MnemoClient({ transport: fakeServer(calls) });
  const seen = [];
  for await (const event of client.streamMessages("agent-1", "hello", { streamTokens: true })) {
    seen.push(event);
  }
  assert.deepEqual(seen.map((m) => m.messageType), ["hologram_message", "assistant_message", "assistant_message",
    "stop_reason"]);
  assert.equal(streamedText(seen), "Hi there");
  assert.deepEqual(seen[0]!.$unknown?.map((f) => f.no), [999, 1000]);
});

test("errors are MnemoErrors carrying the gRPC status", async () => {
  const client = new MnemoClient({ transport: fakeServer([]) });
  await assert.rejects(client.agents.getAgent({ agentId: "agent-x" }), (error: unknown) => {
    assert.ok(error instanceof NotFoundError);
    assert.ok(error instanceof MnemoError);
    assert.ok(error instanceof ConnectError);
    assert.equal(error.code, Code.NotFound);
    assert.equal(error.status, "NOT_FOUND");
    assert.equal(error.rawMessage, "agent agent-x not found");
    return true;
  });
});

test("reads are retried on UNAVAILABLE, writes are not; pagination follows after-cursors", async () => {
  const calls: string[] = [];
  const client = new MnemoClient({ transport: fakeServer(calls), retryBackoffMs: 1 });
  const ids = [];
  for await (const agent of client.iterAgents({}, 3)) {
    ids.push(agent.id);
  }
  assert.deepEqual(ids, Array.from({ length: 7 }, (_, i) => `agent-${i}`));
  assert.deepEqual(calls, [
    "list after= limit=3", "list after= limit=3", "list after= limit=3", // two retries
    "list after=agent-2 limit=3", "list after=agent-5 limit=3",
  ]);
  calls.length = 0;
  await assert.rejects(client.agents.createAgent({ model: "x" }), UnavailableError);
  assert.deepEqual(calls, ["create"]);
});

test("retries follow the contract's idempotency_level, not method names", async () => {
  const calls: string[] = [];
  const client = new MnemoClient({ transport: fakeServer(calls), retryBackoffMs: 1, maxRetries: 2 });
  await assert.rejects(client.agents.updateAgent({ agentId: "agent-1" }), UnavailableError);
  await assert.rejects(client.agents.deleteAgent({ agentId: "agent-1" }), UnavailableError);
  assert.deepEqual(calls, ["update", "update", "update", "delete"]);
  const method = (service: DescService, name: string) => service.methods.find((m) => m.name === name)!;
  assert.equal(isRepeatable(method(PassageService, "SearchPassages")), true);
  assert.equal(isRepeatable(method(AgentService, "CreateAgent")), false);
  assert.equal(isRepeatable(method(MessageService, "SendMessage")), false);
});

test("every service and RPC of the contract has a client accessor", async () => {
  const dir = new URL("../src/gen/mnemo/v1/", import.meta.url);
  const files = (await readdir(dir)).filter((name) => name.endsWith("_pb.ts"));
  const services: DescService[] = [];
  for (const file of files) {
    const module = (await import(new URL(file.replace(/\.ts$/, ".js"), dir).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if ((value as DescService | undefined)?.kind === "service") services.push(value as DescService);
    }
  }
  assert.ok(services.length >= 12, `only ${services.length} services found`);
  const client = new MnemoClient({ transport: fakeServer([]) }) as unknown as Record<string, Record<string, unknown>>;
  const accessors = new Map(Object.entries(SERVICES).map(([name, service]) => [service.typeName, name]));
  for (const service of services) {
    const name = accessors.get(service.typeName);
    assert.ok(name, `no accessor for ${service.typeName}`);
    for (const method of service.methods) {
      assert.equal(typeof client[name]![method.localName], "function", `${name}.${method.localName} is missing`);
    }
  }
});

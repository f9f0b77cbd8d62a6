// Quickstart: create an agent with memory blocks, send a message, stream tokens, read a block.
//
//   make run                                   # in another terminal: a server on 127.0.0.1:50051
//   cd clients/ts && npx tsx examples/quickstart.ts
//
// Environment: MNEMO_ADDRESS (default 127.0.0.1:50051), MNEMO_TOKEN (if the server has
// MNEMO_SERVER_PASSWORD), MNEMO_MODEL (default mnemo/offline-dev, which needs no provider).
import { connect, messageText } from "../src/index.js";

const client = connect({
  address: process.env.MNEMO_ADDRESS ?? "127.0.0.1:50051",
  token: process.env.MNEMO_TOKEN,
});
const model = process.env.MNEMO_MODEL ?? "mnemo/offline-dev";

try {
  const health = await client.health.getHealth({});
  console.log(`server: ${health.status} ${health.version}`);

  const agent = await client.agents.createAgent({
    name: "quickstart",
    model,
    memoryBlocks: [
      { label: "human", value: "The human's name is Bob." },
      { label: "persona", value: "I am Sam, a helpful agent." },
    ],
  });
  console.log(`agent: ${agent.id}`);

  // One turn: the agent answers (and may call tools) before this resolves.
  const response = await client.sendMessage(agent.id, "Hello! Who am I?");
  const answer = response.messages
    .filter((m) => m.messageType === "assistant_message")
    .map(messageText)
    .join(" ");
  console.log(`reply: ${answer}`);

  // The next turn, token by token: assistant text arrives in deltas.
  process.stdout.write("streamed: ");
  let stop: string | undefined;
  for await (const event of client.streamMessages(agent.id, "Tell me something short.", { streamTokens: true })) {
    if (event.messageType === "assistant_message") {
      process.stdout.write(messageText(event));
    } else if (event.messageType === "stop_reason") {
      stop = event.stopReason;
    }
    // Any other type (reasoning, tool calls, usage, types added later) is skipped.
  }
  process.stdout.write("\n");
  console.log(`stop: ${stop}`);

  const block = await client.getBlock(agent.id, "human");
  console.log(`human block: ${block.value}`);

  // Pagination: iterate every agent, page by page (after-cursors).
  let listed = false;
  for await (const each of client.iterAgents({}, 20)) {
    listed ||= each.id === agent.id;
  }
  console.log(`listed: ${listed}`);

  await client.agents.deleteAgent({ agentId: agent.id });
  console.log(`deleted: ${agent.id}`);
} finally {
  client.close();
}

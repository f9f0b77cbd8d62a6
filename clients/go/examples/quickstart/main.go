// Quickstart: create an agent with memory blocks, send a message, stream tokens, read a block.
//
//	make run                                     # in another terminal: a server on 127.0.0.1:50051
//	cd clients/go && go run ./examples/quickstart
//
// Environment: MNEMO_ADDRESS (default 127.0.0.1:50051), MNEMO_TOKEN (if the server has
// MNEMO_SERVER_PASSWORD), MNEMO_MODEL (default mnemo/offline-dev, which needs no provider).
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"

	mnemo "github.com/mnemo-ai/mnemo/clients/go"
	mnemov1 "github.com/mnemo-ai/mnemo/clients/go/gen/mnemo/v1"
	"google.golang.org/protobuf/proto"
)

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

func main() {
	ctx := context.Background()
	client, err := mnemo.New(env("MNEMO_ADDRESS", "127.0.0.1:50051"), mnemo.WithToken(os.Getenv("MNEMO_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	health, err := client.Health.GetHealth(ctx, &mnemov1.GetHealthRequest{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("server: %s %s\n", health.GetStatus(), health.GetVersion())

	agent, err := client.Agents.CreateAgent(ctx, &mnemov1.CreateAgentRequest{
		Name:  proto.String("quickstart"),
		Model: proto.String(env("MNEMO_MODEL", "mnemo/offline-dev")),
		MemoryBlocks: []*mnemov1.CreateBlockRequest{
			{Label: "human", Value: "The human's name is Bob."},
			{Label: "persona", Value: "I am Sam, a helpful agent."},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("agent: %s\n", agent.GetId())

	// One turn: the agent answers (and may call tools) before this returns.
	response, err := client.SendMessage(ctx, agent.GetId(), "Hello! Who am I?")
	if err != nil {
		log.Fatal(err)
	}
	var answer []string
	for _, m := range response.GetMessages() {
		if m.GetMessageType() == "assistant_message" {
			answer = append(answer, mnemo.MessageText(m))
		}
	}
	fmt.Printf("reply: %s\n", strings.Join(answer, " "))

	// The next turn, token by token: assistant text arrives in deltas.
	fmt.Print("streamed: ")
	stop := ""
	for event, err := range client.StreamMessages(ctx, agent.GetId(), "Tell me something short.", true) {
		if err != nil {
			log.Fatal(err)
		}
		switch event.GetMessageType() {
		case "assistant_message":
			fmt.Print(mnemo.MessageText(event))
		case "stop_reason":
			stop = event.GetStopReason()
		}
		// Any other type (reasoning, tool calls, usage, types added later) is skipped.
	}
	fmt.Printf("\nstop: %s\n", stop)

	block, err := client.GetBlock(ctx, agent.GetId(), "human")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("human block: %s\n", block.GetValue())

	// Pagination: iterate every agent, page by page (after-cursors).
	listed := false
	for each, err := range client.EachAgent(ctx, &mnemov1.ListAgentsRequest{Limit: proto.Int32(20)}) {
		if err != nil {
			log.Fatal(err)
		}
		listed = listed || each.GetId() == agent.GetId()
	}
	fmt.Printf("listed: %t\n", listed)

	if _, err := client.Agents.DeleteAgent(ctx, &mnemov1.DeleteAgentRequest{AgentId: agent.GetId()}); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("deleted: %s\n", agent.GetId())
}

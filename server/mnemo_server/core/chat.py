"""OpenAI chat completions answered by an agent (proto/mnemo/v1/chat.proto).

The agent is stateful: only the request's last message, the user's, is sent to
it, as one MessageService.SendMessage would; the answer is the text the agent
sent to the user during that turn. Streaming maps the turn's events onto
`chat.completion.chunk`s: the role, the text deltas, the finish reason, then
the usage when asked for.
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator

from google.protobuf import struct_pb2
from mnemo.v1 import chat_pb2, messages_pb2

from ..errors import InvalidArgument
from . import validate
from .messages import Messages

ROLES = ("user", "system", "developer", "assistant", "tool")
# How a turn's stop reason reads as an OpenAI finish reason; any other stop
# reason is a failure.
FINISH_REASONS = {
    "end_turn": "stop", "no_tool_call": "stop", "tool_rule": "stop", "requires_approval": "stop",
    "max_steps": "length", "context_window_overflow": "length",
}
PARAGRAPH = "\n\n"
# Request options the agent's own configuration decides; a request setting one is refused.
AGENT_DECIDES = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "tools", "tool_choice",
                 "response_format", "frequency_penalty", "presence_penalty", "seed", "parallel_tool_calls")


def _text(field: str, content: struct_pb2.Value) -> str:
    kind = content.WhichOneof("kind")
    if kind == "string_value":
        return content.string_value
    if kind != "list_value":
        raise InvalidArgument(field, "must be a string or a list of text parts")
    texts = []
    for j, part in enumerate(content.list_value.values):
        if part.WhichOneof("kind") != "struct_value":
            raise InvalidArgument(f"{field}[{j}]", "a content part is an object with a 'type'")
        fields = part.struct_value.fields
        kind_of = fields["type"].string_value if "type" in fields else ""
        if kind_of != "text":
            raise InvalidArgument(f"{field}[{j}].type", f"only text parts are accepted here, got '{kind_of}'")
        if "text" not in fields or fields["text"].WhichOneof("kind") != "string_value":
            raise InvalidArgument(f"{field}[{j}].text", "a text part needs its text")
        texts.append(fields["text"].string_value)
    return "".join(texts)


class ChatCompletions:
    def __init__(self, messages: Messages):
        self.messages = messages

    @staticmethod
    def agent_of(request: chat_pb2.CreateChatCompletionRequest) -> str:
        if request.HasField("agent_id"):
            validate.required("agent_id", request.agent_id)
            if request.model and request.model != request.agent_id:
                raise InvalidArgument("model", f"'{request.model}' is not the agent of the path "
                                               f"('{request.agent_id}'); leave it empty or repeat the agent's id")
            return request.agent_id
        validate.required("model", request.model)
        if not request.model.startswith("agent-"):
            raise InvalidArgument("model", f"'{request.model}' is not an agent id: the model of a chat completion "
                                           "is the id of the agent that answers ('agent-…')")
        return request.model

    def send_request(self, request: chat_pb2.CreateChatCompletionRequest, *,
                     stream: bool) -> messages_pb2.SendMessageRequest:
        """The SendMessageRequest `request` stands for; refuses what it cannot honour."""
        agent_id = self.agent_of(request)
        for name in AGENT_DECIDES:
            if request.HasField(name):
                raise InvalidArgument(name, "an agent answers with its own model settings and tools; set them on "
                                            "the agent (llm_config, model_settings, tools, tool_rules) instead")
        if request.HasField("n") and request.n != 1:
            raise InvalidArgument("n", f"an agent gives one answer per turn; n must be 1, got {request.n}")
        if request.logprobs:
            raise InvalidArgument("logprobs", "log probabilities are not served")
        if not request.messages:
            raise InvalidArgument("messages", "at least one message is required; the last one is the user's")
        for i, message in enumerate(request.messages):
            validate.one_of(f"messages[{i}].role", message.role, ROLES)
        last = len(request.messages) - 1
        message = request.messages[last]
        if message.role != "user":
            raise InvalidArgument(f"messages[{last}].role", f"the last message must be the user's, got "
                                                           f"'{message.role}'; the agent keeps its own history")
        if message.HasField("tool_call_id"):
            raise InvalidArgument(f"messages[{last}].tool_call_id", "a user message answers no tool call")
        text = _text(f"messages[{last}].content", message.content)
        if not text.strip():
            raise InvalidArgument(f"messages[{last}].content", "the user's message is empty")
        create = messages_pb2.MessageCreate(role="user", content=struct_pb2.Value(string_value=text))
        if message.HasField("name"):
            create.name = message.name
        if request.HasField("user"):
            create.sender_id = request.user
        return messages_pb2.SendMessageRequest(agent_id=agent_id, messages=[create], use_assistant_message=True,
                                               stream_tokens=stream)

    async def create(self, request: chat_pb2.CreateChatCompletionRequest) -> chat_pb2.ChatCompletion:
        send = self.send_request(request, stream=False)
        created = int(time.time())
        response = await self.messages.send(send)  # raises TurnFailed for a failed turn
        texts = [m.content.string_value for m in response.messages
                 if m.message_type == "assistant_message" and m.content.string_value]
        run_id = response.usage.run_ids[0] if response.usage.run_ids else ""
        reason = response.stop_reason.stop_reason
        return chat_pb2.ChatCompletion(
            id=f"chatcmpl-{run_id}", object="chat.completion", created=created, model=send.agent_id,
            choices=[chat_pb2.ChatCompletionChoice(
                index=0, message=chat_pb2.ChatCompletionResponseMessage(role="assistant",
                                                                        content=PARAGRAPH.join(texts)),
                finish_reason=FINISH_REASONS.get(reason, "stop"),
            )],
            usage=_usage(response.usage),
        )

    async def stream(self, request: chat_pb2.CreateChatCompletionRequest) -> AsyncIterator[chat_pb2.ChatCompletionChunk]:
        send = self.send_request(request, stream=True)
        include_usage = request.stream_options.include_usage
        created = int(time.time())
        chunk_id = ""
        stop_reason: str | None = None
        last_message_id: str | None = None

        def chunk(**fields) -> chat_pb2.ChatCompletionChunk:
            return chat_pb2.ChatCompletionChunk(id=chunk_id, object="chat.completion.chunk", created=created,
                                                model=send.agent_id, **fields)

        def delta(**fields) -> chat_pb2.ChatCompletionChunk:
            return chunk(choices=[chat_pb2.ChatCompletionChunkChoice(index=0, delta=chat_pb2.ChatCompletionDelta(
                **fields))])

        # Errors before the first event (a bad request, an unknown agent) are
        # raised by the first step of the iteration, before anything is sent.
        async for event in self.messages.stream(send):
            kind = event.message_type
            if not chunk_id:
                chunk_id = f"chatcmpl-{event.run_id or (event.run_ids[0] if event.run_ids else '')}"
                yield delta(role="assistant", content="")
            if kind == "assistant_message":
                text = event.content.string_value
                if last_message_id is not None and event.id != last_message_id and text:
                    text = PARAGRAPH + text
                if event.id:
                    last_message_id = event.id
                if text:
                    yield delta(content=text)
            elif kind == "stop_reason":
                stop_reason = event.stop_reason
            elif kind == "error_message":
                yield chunk(error=chat_pb2.ChatCompletionError(message=event.message or "the turn failed",
                                                               type=event.error_type or "error"))
                return
            elif kind == "usage_statistics":
                finish = FINISH_REASONS.get(stop_reason or "")
                if finish is None:
                    yield chunk(error=chat_pb2.ChatCompletionError(
                        message=f"the turn ended without an answer: {stop_reason or 'unknown'}",
                        type=stop_reason or "error"))
                    return
                yield chunk(choices=[chat_pb2.ChatCompletionChunkChoice(
                    index=0, delta=chat_pb2.ChatCompletionDelta(), finish_reason=finish)])
                if include_usage:
                    yield chunk(usage=_usage(event))
                return


def _usage(usage: messages_pb2.UsageStatistics | messages_pb2.LettaMessage) -> chat_pb2.ChatCompletionUsage:
    return chat_pb2.ChatCompletionUsage(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens,
                                        total_tokens=usage.total_tokens)

"""The MessageService servicer (sending, streaming, listing and editing) and the
ChatCompletionService servicer (the same turns, in OpenAI's shape)."""
from __future__ import annotations

import grpc
from mnemo.v1 import chat_pb2_grpc, messages_pb2, messages_pb2_grpc

from ..core.messages import TurnFailed
from ..services import Services
from .errors import rpc_errors

# Whole-response requests that end in these stop reasons fail with this code.
FAILED_TURN_CODES = {
    "llm_api_error": grpc.StatusCode.UNAVAILABLE,
    "invalid_llm_response": grpc.StatusCode.UNAVAILABLE,
    "context_window_overflow": grpc.StatusCode.FAILED_PRECONDITION,
}
# ... and those that end with an error of these types (stop reason `error`).
FAILED_TURN_ERROR_CODES = {"turn_timeout": grpc.StatusCode.DEADLINE_EXCEEDED}


async def abort_failed_turn(context, failed: TurnFailed) -> None:
    # The failed step wrote nothing but the request's input; a retry by the
    # client would send the input twice, so tell HTTP clients not to.
    error_type = failed.result.error.error_type if failed.result.error is not None else ""
    code = FAILED_TURN_CODES.get(failed.result.stop_reason) or FAILED_TURN_ERROR_CODES.get(
        error_type, grpc.StatusCode.INTERNAL)
    await context.abort(
        code, f"{failed} (the messages of the request so far are saved; run {failed.result.run_id})",
        trailing_metadata=(("x-should-retry", "false"),),
    )


@rpc_errors
class MessageServicer(messages_pb2_grpc.MessageServiceServicer):
    def __init__(self, services: Services):
        self.messages = services.messages
        self.agents = services.agents

    async def SendMessage(self, request, context):
        try:
            return await self.messages.send(request)
        except TurnFailed as failed:
            await abort_failed_turn(context, failed)

    async def StreamMessages(self, request, context):
        async for event in self.messages.stream(request):
            yield event

    async def ListMessages(self, request, context):
        return messages_pb2.ListMessagesResponse(messages=await self.messages.list(request))

    async def UpdateMessage(self, request, context):
        return await self.messages.update(request)

    async def ResetMessages(self, request, context):
        return await self.messages.reset(request, self.agents)

    async def CompactMessages(self, request, context):
        try:
            return await self.messages.compact(request)
        except TurnFailed as failed:
            await abort_failed_turn(context, failed)

    async def GetContextWindow(self, request, context):
        return await self.messages.context_window(request.agent_id)


@rpc_errors
class ChatCompletionServicer(chat_pb2_grpc.ChatCompletionServiceServicer):
    def __init__(self, services: Services):
        self.chat = services.chat

    async def CreateChatCompletion(self, request, context):
        try:
            return await self.chat.create(request)
        except TurnFailed as failed:
            await abort_failed_turn(context, failed)

    async def StreamChatCompletion(self, request, context):
        async for chunk in self.chat.stream(request):
            yield chunk

"""The RunService servicer: runs, steps, resuming streams, async sends, cancel."""
from __future__ import annotations

from mnemo.v1 import messages_pb2, runs_pb2, runs_pb2_grpc

from ..services import Services
from .errors import rpc_errors


@rpc_errors
class RunServicer(runs_pb2_grpc.RunServiceServicer):
    def __init__(self, services: Services):
        self.runs = services.runs
        self.messages = services.messages

    async def ListRuns(self, request, context):
        return runs_pb2.ListRunsResponse(runs=await self.runs.list(request))

    async def ListActiveRuns(self, request, context):
        request.active = True
        return runs_pb2.ListRunsResponse(runs=await self.runs.list(request))

    async def GetRun(self, request, context):
        return await self.runs.get(request.run_id)

    async def DeleteRun(self, request, context):
        return await self.runs.delete(request.run_id)

    async def ListRunMessages(self, request, context):
        return messages_pb2.ListMessagesResponse(messages=await self.messages.list_run(request))

    async def ListRunSteps(self, request, context):
        return runs_pb2.ListStepsResponse(steps=await self.runs.run_steps(request))

    async def GetRunUsage(self, request, context):
        return (await self.runs.get(request.run_id)).usage

    async def StreamRun(self, request, context):
        async for event in self.runs.replay(
            request.run_id, after=request.starting_after if request.HasField("starting_after") else 0,
            include_pings=request.include_pings,
        ):
            yield event

    async def SendMessageAsync(self, request, context):
        return await self.messages.send_async(request)

    async def CancelMessages(self, request, context):
        outcome = await self.runs.cancel(request.agent_id, list(request.run_ids))
        return runs_pb2.CancelMessagesResponse(runs=outcome)

    async def ListSteps(self, request, context):
        return runs_pb2.ListStepsResponse(steps=await self.runs.list_steps(request))

    async def GetStep(self, request, context):
        return await self.runs.get_step(request.step_id)



"""PassageService: an agent's archival memory (core/passages.py does the work)."""
from __future__ import annotations

from google.protobuf import empty_pb2
from mnemo.v1 import passages_pb2, passages_pb2_grpc

from ..services import Services
from .errors import rpc_errors


@rpc_errors
class PassageServicer(passages_pb2_grpc.PassageServiceServicer):
    def __init__(self, services: Services):
        self.passages = services.passages

    async def CreatePassage(self, request, context):
        return passages_pb2.ListPassagesResponse(passages=await self.passages.create(request))

    async def ListPassages(self, request, context):
        return passages_pb2.ListPassagesResponse(passages=await self.passages.list(request))

    async def SearchAgentPassages(self, request, context):
        return await self.passages.search_agent(request)

    async def GetPassage(self, request, context):
        return await self.passages.get(request)

    async def UpdatePassage(self, request, context):
        return await self.passages.update(request)

    async def DeletePassage(self, request, context):
        await self.passages.delete(request)
        return empty_pb2.Empty()

    async def SearchPassages(self, request, context):
        return await self.passages.search_passages(request)

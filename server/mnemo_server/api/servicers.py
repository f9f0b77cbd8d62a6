"""Servicers for the resource services. Each RPC hands its request to the core
and wraps the result in the response message; errors are mapped by
@rpc_errors."""
from __future__ import annotations

from google.protobuf import empty_pb2
from mnemo.v1 import (
    agents_pb2,
    agents_pb2_grpc,
    blocks_pb2,
    blocks_pb2_grpc,
    chat_pb2,
    chat_pb2_grpc,
    common_pb2,
    health_pb2,
    health_pb2_grpc,
    identities_pb2,
    identities_pb2_grpc,
    jobs_pb2,
    jobs_pb2_grpc,
    mcp_pb2,
    mcp_pb2_grpc,
    messages_pb2,
    messages_pb2_grpc,
    models_pb2,
    models_pb2_grpc,
    passages_pb2,
    passages_pb2_grpc,
    providers_pb2,
    providers_pb2_grpc,
    runs_pb2,
    runs_pb2_grpc,
    tags_pb2,
    tags_pb2_grpc,
    tools_pb2,
    tools_pb2_grpc,
)

from .. import __version__
from ..core.agents import relationships
from ..services import Services
from .errors import rpc_errors
from .jobs import BatchServicer, JobServicer
from .mcp import McpServerServicer
from .messages import ChatCompletionServicer, MessageServicer
from .passages import PassageServicer
from .runs import RunServicer

EMPTY = empty_pb2.Empty()


@rpc_errors
class HealthServicer(health_pb2_grpc.HealthServiceServicer):
    def __init__(self, services: Services):
        self.s = services

    async def GetHealth(self, request, context):
        await self.s.ping_database()
        return health_pb2.GetHealthResponse(status="ok", version=__version__)


@rpc_errors
class BlockServicer(blocks_pb2_grpc.BlockServiceServicer):
    def __init__(self, services: Services):
        self.blocks = services.blocks

    async def CreateBlock(self, request, context):
        return await self.blocks.create(request)

    async def GetBlock(self, request, context):
        return await self.blocks.get(request.block_id)

    async def ListBlocks(self, request, context):
        return blocks_pb2.ListBlocksResponse(blocks=await self.blocks.list(request))

    async def CountBlocks(self, request, context):
        return common_pb2.CountResponse(count=await self.blocks.count())

    async def UpdateBlock(self, request, context):
        return await self.blocks.update(request)

    async def DeleteBlock(self, request, context):
        await self.blocks.delete(request.block_id)
        return EMPTY


@rpc_errors
class ToolServicer(tools_pb2_grpc.ToolServiceServicer):
    def __init__(self, services: Services):
        self.tools = services.tools
        self.secrets = services.secrets

    async def CreateTool(self, request, context):
        return await self.tools.create(request)

    async def UpsertTool(self, request, context):
        return await self.tools.upsert(request)

    async def GetTool(self, request, context):
        return await self.tools.get(request.tool_id)

    async def ListTools(self, request, context):
        return tools_pb2.ListToolsResponse(tools=await self.tools.list(request))

    async def UpsertBaseTools(self, request, context):
        return tools_pb2.ListToolsResponse(tools=await self.tools.upsert_base_tools())

    async def CountTools(self, request, context):
        return common_pb2.CountResponse(count=await self.tools.count())

    async def UpdateTool(self, request, context):
        return await self.tools.update(request)

    async def DeleteTool(self, request, context):
        await self.tools.delete(request.tool_id)
        return EMPTY

    async def RunToolFromSource(self, request, context):
        return await self.tools.run_from_source(request)

    async def RunAgentTool(self, request, context):
        return await self.tools.run_for_agent(request, self.secrets)


@rpc_errors
class IdentityServicer(identities_pb2_grpc.IdentityServiceServicer):
    def __init__(self, services: Services):
        self.identities = services.identities

    async def CreateIdentity(self, request, context):
        return await self.identities.create(request)

    async def UpsertIdentity(self, request, context):
        return await self.identities.create(request, upsert=True)

    async def GetIdentity(self, request, context):
        return await self.identities.get(request.identity_id)

    async def ListIdentities(self, request, context):
        return identities_pb2.ListIdentitiesResponse(identities=await self.identities.list(request))

    async def CountIdentities(self, request, context):
        return common_pb2.CountResponse(count=await self.identities.count())

    async def UpdateIdentity(self, request, context):
        return await self.identities.update(request)

    async def UpsertIdentityProperties(self, request, context):
        return await self.identities.set_properties(request)

    async def DeleteIdentity(self, request, context):
        await self.identities.delete(request.identity_id)
        return EMPTY


@rpc_errors
class AgentServicer(agents_pb2_grpc.AgentServiceServicer):
    def __init__(self, services: Services):
        self.agents = services.agents

    async def CreateAgent(self, request, context):
        return await self.agents.create(request)

    async def GetAgent(self, request, context):
        return await self.agents.get(request.agent_id, relationships(request))

    async def ListAgents(self, request, context):
        return agents_pb2.ListAgentsResponse(agents=await self.agents.list(request))

    async def CountAgents(self, request, context):
        return common_pb2.CountResponse(count=await self.agents.count(request))

    async def UpdateAgent(self, request, context):
        return await self.agents.update(request)

    async def DeleteAgent(self, request, context):
        await self.agents.delete(request.agent_id)
        return EMPTY

    async def GetAgentMemory(self, request, context):
        return (await self.agents.get(request.agent_id)).memory

    async def ListAgentBlocks(self, request, context):
        return blocks_pb2.ListBlocksResponse(blocks=await self.agents.list_blocks(request))

    async def GetAgentBlock(self, request, context):
        return await self.agents.get_block(request.agent_id, request.block_label)

    async def UpdateAgentBlock(self, request, context):
        return await self.agents.update_block(request)

    async def AttachBlock(self, request, context):
        return await self.agents.attach_block(request.agent_id, request.block_id)

    async def DetachBlock(self, request, context):
        return await self.agents.detach_block(request.agent_id, request.block_id)

    async def ListBlockAgents(self, request, context):
        return agents_pb2.ListAgentsResponse(agents=await self.agents.list_block_agents(request))

    async def ListAgentTools(self, request, context):
        return tools_pb2.ListToolsResponse(tools=await self.agents.list_tools(request))

    async def AttachTool(self, request, context):
        return await self.agents.attach_tool(request.agent_id, request.tool_id)

    async def DetachTool(self, request, context):
        return await self.agents.detach_tool(request.agent_id, request.tool_id)

    async def AttachIdentity(self, request, context):
        return await self.agents.attach_identity(request.agent_id, request.identity_id)

    async def DetachIdentity(self, request, context):
        return await self.agents.detach_identity(request.agent_id, request.identity_id)


@rpc_errors
class TagServicer(tags_pb2_grpc.TagServiceServicer):
    def __init__(self, services: Services):
        self.agents = services.agents

    async def ListTags(self, request, context):
        return tags_pb2.ListTagsResponse(tags=await self.agents.list_tags(request))


@rpc_errors
class ModelServicer(models_pb2_grpc.ModelServiceServicer):
    def __init__(self, services: Services):
        self.catalog = services.catalog

    async def ListModels(self, request, context):
        models = await self.catalog.list_models()
        if request.provider_category:
            models = [m for m in models if m.provider_category in request.provider_category]
        if request.HasField("provider_name"):
            models = [m for m in models if m.provider_name == request.provider_name]
        if request.HasField("provider_type"):
            models = [m for m in models if m.provider_type == request.provider_type]
        return models_pb2.ListModelsResponse(models=models)

    async def ListEmbeddingModels(self, request, context):
        return models_pb2.ListEmbeddingModelsResponse(models=await self.catalog.list_embedding_models())


@rpc_errors
class ProviderServicer(providers_pb2_grpc.ProviderServiceServicer):
    def __init__(self, services: Services):
        self.providers = services.stored_providers

    async def CreateProvider(self, request, context):
        return await self.providers.create(request)

    async def ListProviders(self, request, context):
        return providers_pb2.ListProvidersResponse(providers=await self.providers.list(request))

    async def GetProvider(self, request, context):
        return await self.providers.get(request.provider_id)

    async def UpdateProvider(self, request, context):
        return await self.providers.update(request)

    async def DeleteProvider(self, request, context):
        await self.providers.delete(request.provider_id)
        return EMPTY

    async def CheckProvider(self, request, context):
        # Letta's GET form carries the key in the x-api-key header (REST headers arrive as metadata).
        header_key = next((v for k, v in context.invocation_metadata() or () if k == "x-api-key"), None)
        return await self.providers.check(request, header_key if isinstance(header_key, str) else None)


def register_all(server, services: Services) -> list[str]:
    """Adds every servicer to `server`; returns the full service names."""
    pairs = [
        (health_pb2_grpc.add_HealthServiceServicer_to_server, HealthServicer, health_pb2),
        (agents_pb2_grpc.add_AgentServiceServicer_to_server, AgentServicer, agents_pb2),
        (blocks_pb2_grpc.add_BlockServiceServicer_to_server, BlockServicer, blocks_pb2),
        (tools_pb2_grpc.add_ToolServiceServicer_to_server, ToolServicer, tools_pb2),
        (identities_pb2_grpc.add_IdentityServiceServicer_to_server, IdentityServicer, identities_pb2),
        (tags_pb2_grpc.add_TagServiceServicer_to_server, TagServicer, tags_pb2),
        (models_pb2_grpc.add_ModelServiceServicer_to_server, ModelServicer, models_pb2),
        (messages_pb2_grpc.add_MessageServiceServicer_to_server, MessageServicer, messages_pb2),
        (chat_pb2_grpc.add_ChatCompletionServiceServicer_to_server, ChatCompletionServicer, chat_pb2),
        (passages_pb2_grpc.add_PassageServiceServicer_to_server, PassageServicer, passages_pb2),
        (runs_pb2_grpc.add_RunServiceServicer_to_server, RunServicer, runs_pb2),
        (providers_pb2_grpc.add_ProviderServiceServicer_to_server, ProviderServicer, providers_pb2),
        (jobs_pb2_grpc.add_JobServiceServicer_to_server, JobServicer, jobs_pb2),
        (jobs_pb2_grpc.add_BatchServiceServicer_to_server, BatchServicer, jobs_pb2),
        (mcp_pb2_grpc.add_McpServerServiceServicer_to_server, McpServerServicer, mcp_pb2),
    ]
    names = []
    for add, servicer, module in pairs:
        add(servicer(services), server)
        names.extend(s.full_name for s in module.DESCRIPTOR.services_by_name.values())
    return list(dict.fromkeys(names))  # a module may hold several services

"""McpServerService: the registry of MCP servers (core/mcp_servers.py)."""
from __future__ import annotations

from google.protobuf import empty_pb2
from mnemo.v1 import mcp_pb2, mcp_pb2_grpc, tools_pb2

from ..core.mcp_servers import config_dict
from ..errors import InvalidArgument
from ..storage import convert
from .errors import rpc_errors

EMPTY = empty_pb2.Empty()


def _config(request, field: str = "config") -> dict:
    if not request.HasField("config"):
        raise InvalidArgument(field, "is required")
    return config_dict(request.config)


@rpc_errors
class McpServerServicer(mcp_pb2_grpc.McpServerServiceServicer):
    def __init__(self, services):
        self.mcp = services.mcp_servers

    async def CreateMcpServer(self, request, context):
        return await self.mcp.create(request.server_name, _config(request))

    async def ListMcpServers(self, request, context):
        return mcp_pb2.ListMcpServersResponse(servers=await self.mcp.list())

    async def GetMcpServer(self, request, context):
        return await self.mcp.get(request.mcp_server_id)

    async def UpdateMcpServer(self, request, context):
        config = config_dict(request.config) if request.HasField("config") else {}
        return await self.mcp.update(request.mcp_server_id,
                                     request.server_name if request.HasField("server_name") else None, config)

    async def DeleteMcpServer(self, request, context):
        await self.mcp.delete(request.mcp_server_id)
        return EMPTY

    async def RefreshMcpServer(self, request, context):
        return await self.mcp.refresh(request.mcp_server_id)

    async def ListMcpServerTools(self, request, context):
        return tools_pb2.ListToolsResponse(tools=await self.mcp.server_tools(request.mcp_server_id))

    async def GetMcpServerTool(self, request, context):
        return await self.mcp.server_tool(request.mcp_server_id, request.tool_id)

    async def RunMcpServerTool(self, request, context):
        args = convert.struct_to_dict(request.args) if request.HasField("args") else {}
        return await self.mcp.run_tool(request.mcp_server_id, request.tool_id, args)

    async def TestMcpServer(self, request, context):
        return await self.mcp.test(config_dict(request))

    async def TestSavedMcpServer(self, request, context):
        return await self.mcp.test_saved(request.mcp_server_id)

    async def ImportMcpConfig(self, request, context):
        if not request.HasField("mcpServers"):
            raise InvalidArgument("mcpServers", "is required")
        return await self.mcp.import_config(convert.struct_to_dict(request.mcpServers))

    async def ListMcpServersByName(self, request, context):
        return mcp_pb2.McpServersByName(servers={s.server_name: s for s in await self.mcp.list()})

    async def AddMcpServerToConfig(self, request, context):
        config = config_dict(request)
        await self.mcp.create(config.pop("server_name", ""), config, field="body", sync_tools=False)
        return mcp_pb2.ListMcpServersResponse(servers=await self.mcp.list())

    async def UpdateMcpServerByName(self, request, context):
        row = await self.mcp._row_by_name(request.mcp_server_name)
        config = config_dict(request)
        name = config.pop("server_name", None)
        return await self.mcp.update(row["id"], name, config, row=row, field="body")

    async def DeleteMcpServerByName(self, request, context):
        return mcp_pb2.ListMcpServersResponse(servers=await self.mcp.delete_by_name(request.mcp_server_name))

    async def ListMcpToolsByServer(self, request, context):
        return mcp_pb2.ListMcpToolsResponse(tools=await self.mcp.live_tools(request.mcp_server_name))

    async def AddMcpTool(self, request, context):
        return await self.mcp.add_tool(request.mcp_server_name, request.mcp_tool_name)

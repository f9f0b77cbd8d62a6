"""The server's services, built once at start and shared by every servicer."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from .config import Settings
from .core.agents import Agents
from .core.blocks import Blocks
from .core.catalog import Catalog
from .core.chat import ChatCompletions
from .core.identities import Identities
from .core.jobs import Jobs
from .core.mcp_servers import McpServers
from .core.messages import Messages
from .core.passages import Passages
from .core.providers import Providers
from .core.runs import Runs
from .core.secrets import SecretBox, reencrypt_stored
from .core.tools import Tools
from .loop.agent_loop import AgentLoop
from .providers.embeddings import Embeddings
from .providers.registry import ProviderRegistry
from .runs.coordinator import RunCoordinator
from .sandbox.mcp_connections import McpConnections
from .sandbox.packages import ToolPackages
from .storage.driver import DriverPool


class Services:
    def __init__(self, settings: Settings, engine: AsyncEngine):
        self.settings = settings
        self.engine = engine
        self.catalog = Catalog(settings)
        self.secrets = SecretBox.from_settings(settings.encryption_key, settings.data_dir)
        self.blocks = Blocks(engine)
        # Custom tools' pip/npm requirement sets and compiled TypeScript (sandbox/packages.py).
        self.tool_packages = ToolPackages.from_settings(settings)
        self.tools = Tools(engine, self.tool_packages)
        self.identities = Identities(engine)
        self.agents = Agents(engine, self.catalog, self.secrets)
        self.providers = ProviderRegistry(settings, self.catalog)
        self.stored_providers = Providers(engine, self.catalog, self.secrets)
        # Archival memory; also reached by the agent's archival tools (core.passages.for_engine).
        self.embeddings = Embeddings(self.catalog)
        self.passages = Passages(engine, self.catalog, self.embeddings)
        self.coordinator = RunCoordinator(engine)
        # MCP servers: their warm connections (running stdio servers), and the registry.
        self.mcp_connections = McpConnections(settings.mcp)
        self.mcp_servers = McpServers(engine, self.secrets, self.mcp_connections, settings.mcp)
        self.driver = DriverPool(engine)
        self.loop = AgentLoop(engine, self.providers, self.secrets, self.driver,
                              turn_timeout_s=settings.turn_timeout_s, tool_packages=self.tool_packages)
        self.loop.mcp = self.mcp_servers
        self.runs = Runs(engine, self.loop, self.coordinator)
        self.messages = Messages(engine, self.loop, self.runs)
        self.chat = ChatCompletions(self.messages)
        self.jobs = Jobs(engine, self.messages, settings)

    async def start(self) -> None:
        # With old keys configured after the current one: re-encrypt what is
        # stored under them (core/secrets.py).
        await reencrypt_stored(self.engine, self.secrets)
        await self.driver.start()
        await self.tools.seed_builtins()
        await self.coordinator.start()
        await self.stored_providers.start()
        await self.jobs.start()
        await self.mcp_connections.start()
        if self.settings.mcp.config_file:
            await self.mcp_servers.import_file(self.settings.mcp.config_file)

    async def close(self) -> None:
        await self.jobs.stop()
        await self.mcp_connections.close()
        await self.stored_providers.stop()
        await self.coordinator.stop()
        await self.providers.aclose()
        await self.driver.close()
        await self.embeddings.aclose()
        await self.engine.dispose()

    async def ping_database(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

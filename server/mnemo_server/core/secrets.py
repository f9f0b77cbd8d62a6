"""Encryption of agent secrets and stored provider keys at rest (Fernet:
AES-128-CBC + HMAC-SHA256), with key rotation (MultiFernet).

The keys come from MNEMO_ENCRYPTION_KEY (one key, or several separated by
commas), or from MNEMO_DATA_DIR/secret.key (one key per line), created once
with mode 0600 in a directory created 0700. The first key encrypts; every key
decrypts. Servers sharing a database must share the keys.

Rotation: put a new key first and keep the old ones after it
(``MNEMO_ENCRYPTION_KEY=new,old``, or ``mnemo rotate-key`` for secret.key).
At start-up, a server with more than one key re-encrypts every stored value
that is not under the first key (:func:`reencrypt_stored`) and logs how many;
after that start the old keys can be removed.
"""
from __future__ import annotations

import logging
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import FailedPrecondition
from ..private_files import write_private

log = logging.getLogger(__name__)

KEY_FILE = "secret.key"


def parse_keys(raw: str | bytes, source: str) -> list[bytes]:
    """Keys from a comma- or newline-separated list; SystemExit naming
    `source` if one is not a Fernet key."""
    text = raw.decode() if isinstance(raw, bytes) else raw
    keys = [k.strip().encode() for k in text.replace(",", "\n").splitlines() if k.strip()]
    if not keys:
        raise SystemExit(f"{source} holds no key")
    for i, key in enumerate(keys):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise SystemExit(f"{source}: key {i + 1} of {len(keys)} is not a Fernet key "
                             "(32 url-safe base64-encoded bytes)") from None
    return keys


class SecretBox:
    def __init__(self, keys: str | bytes | list[bytes]):
        if not isinstance(keys, list):
            keys = [keys.encode() if isinstance(keys, str) else keys]
        self._primary = Fernet(keys[0])
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        self.key_count = len(keys)

    @classmethod
    def from_settings(cls, encryption_key: str | None, data_dir: Path) -> SecretBox:
        if encryption_key:
            return cls(parse_keys(encryption_key, "MNEMO_ENCRYPTION_KEY"))
        path = data_dir / KEY_FILE
        if not path.exists():
            # Atomic, 0600 from the start; a key another server wrote first is kept.
            write_private(path, Fernet.generate_key() + b"\n", replace=False)
        return cls(parse_keys(path.read_bytes(), str(path)))

    def seal(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def open(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            raise FailedPrecondition("a stored secret cannot be decrypted with this server's key") from None

    def is_current(self, token: bytes) -> bool:
        """Whether `token` is encrypted with the first (current) key."""
        try:
            self._primary.decrypt(token)
            return True
        except InvalidToken:
            return False

    def rotate(self, token: bytes) -> bytes:
        """`token` re-encrypted with the current key (InvalidToken if no key opens it)."""
        return self._fernet.rotate(token)


def rotate_key_file(data_dir: Path) -> tuple[Path, int]:
    """Puts a new key first in MNEMO_DATA_DIR/secret.key, keeping the old ones
    after it (written atomically, mode 0600). Returns (path, number of keys)."""
    path = data_dir / KEY_FILE
    old = parse_keys(path.read_bytes(), str(path)) if path.exists() else []
    keys = [Fernet.generate_key(), *old]
    write_private(path, b"".join(k + b"\n" for k in keys), replace=True)
    return path, len(keys)


async def reencrypt_stored(engine: AsyncEngine, box: SecretBox) -> int:
    """Re-encrypts with the current key every agent secret and stored
    provider key encrypted with an older one; returns how many. A value no
    key opens is left as it is (and logged)."""
    from ..storage.schema import agent_secrets, mcp_servers, providers

    if box.key_count < 2:
        return 0
    done = unreadable = 0
    async with engine.begin() as conn:
        secrets = (await conn.execute(
            select(agent_secrets.c.value_encrypted, agent_secrets.c.agent_id, agent_secrets.c.key)
            .with_for_update())).all()
        keys = (await conn.execute(select(providers.c.api_key_encrypted, providers.c.id)
                                   .where(providers.c.api_key_encrypted.is_not(None)).with_for_update())).all()
        mcp = (await conn.execute(select(mcp_servers.c.secrets_encrypted, mcp_servers.c.id)
                                  .where(mcp_servers.c.secrets_encrypted.is_not(None)).with_for_update())).all()
        writes = [*((token, update(mcp_servers).where(mcp_servers.c.id == server_id), "secrets_encrypted")
                    for token, server_id in mcp),
                  *((token, update(agent_secrets).where(agent_secrets.c.agent_id == agent_id,
                                                         agent_secrets.c.key == key), "value_encrypted")
                    for token, agent_id, key in secrets),
                  *((token, update(providers).where(providers.c.id == provider_id), "api_key_encrypted")
                    for token, provider_id in keys)]
        for token, statement, column in writes:
            if box.is_current(token):
                continue
            try:
                new = box.rotate(token)
            except InvalidToken:
                unreadable += 1
                continue
            await conn.execute(statement.values({column: new}))
            done += 1
    if done:
        log.warning("re-encrypted %d stored secrets with the current encryption key", done)
    log.info("every stored secret is encrypted with the current key; the %d older keys can be removed once "
             "every server sharing this database has the new one", box.key_count - 1)
    if unreadable:
        log.error("%d stored secrets cannot be decrypted with any configured encryption key", unreadable)
    return done

"""Encryption of agent secrets at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from MNEMO_ENCRYPTION_KEY, or is created once in
MNEMO_DATA_DIR/secret.key (mode 0600, in a directory created 0700). Servers
sharing a database must share the key.
"""
from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ..errors import FailedPrecondition


class SecretBox:
    def __init__(self, key: str | bytes):
        self._fernet = Fernet(key)

    @classmethod
    def from_settings(cls, encryption_key: str | None, data_dir: Path) -> SecretBox:
        if encryption_key:
            return cls(encryption_key)
        path = data_dir / "secret.key"
        if not path.exists():
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def open(self, token: bytes) -> str:
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            raise FailedPrecondition("a stored secret cannot be decrypted with this server's key") from None

"""One way to keep blobs (photos at the door, a complaint's photo): `BlobStorage`.

    storage = storage_from_settings(ctx.settings)          # LocalFolderStorage unless told otherwise
    key = await storage.put("orders/photos/<id>.jpg", data, "image/jpeg")
    data = await storage.get(key)                          # KeyError when there is no such blob
    await storage.delete(key)                              # absent: nothing happens

Keys are relative, slash-separated names chosen by the caller (letters, digits, `-_./`, no `..`);
the blob's meaning (whose photo, who may see it) lives in the caller's tables, never in the store.
By default blobs are files under `var/blobs/` (one process or several on one machine). In
deploy/k8s an S3-compatible store (MinIO, a cloud bucket) is configured with the YOUFU_STORAGE_*
settings and reached through the MinIO client (`minio`, pinned in constraints.txt). Both clients
block, so every call runs in a worker thread: a photo is at most a few MB.
"""
from __future__ import annotations

import asyncio
import io
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import Settings

_KEY = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_\-./]{0,254}$")


def check_key(key: str) -> str:
    if not _KEY.fullmatch(key) or ".." in key.split("/") or "//" in key or key.endswith("/"):
        raise ValueError(f"not a blob key: {key!r}")
    return key


@runtime_checkable
class BlobStorage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> str:
        """Store `data` under `key` (replacing what was there); returns the key."""

    async def get(self, key: str) -> bytes:
        """The blob's bytes; KeyError if there is none."""

    async def delete(self, key: str) -> None:
        """Remove the blob; nothing happens when it is absent."""


class StorageSettings(BaseSettings):
    """YOUFU_STORAGE_*: where blobs go. `kind` local (default) or s3."""

    model_config = SettingsConfigDict(env_prefix="YOUFU_STORAGE_", extra="ignore")

    kind: str = "local"  # local | s3
    folder: Path | None = None  # local: default <var_dir>/blobs
    s3_endpoint: str = ""  # host[:port] of the S3-compatible service, e.g. minio.youfu.svc:9000
    s3_bucket: str = "youfu-blobs"
    s3_region: str | None = None
    s3_secure: bool = True  # https
    s3_access_key: str = ""  # secrets: from the environment (a k8s Secret), never in code
    s3_secret_key: str = ""


class LocalFolderStorage:
    """Blobs as files under one folder; a put writes a temporary file and renames it, so a reader
    never sees half a blob."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        await asyncio.to_thread(self._put, key, data)
        return key

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._get, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)


class S3Storage:
    """Blobs as objects of one bucket of an S3-compatible store, through the MinIO client."""

    def __init__(self, own: StorageSettings, client: object | None = None) -> None:
        if client is None:
            from minio import Minio  # imported only where an S3 store is configured

            client = Minio(own.s3_endpoint, access_key=own.s3_access_key, secret_key=own.s3_secret_key,
                           secure=own.s3_secure, region=own.s3_region)
        self.client, self.bucket = client, own.s3_bucket

    def _get(self, key: str) -> bytes:
        from minio.error import S3Error

        try:
            response = self.client.get_object(self.bucket, check_key(key))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise KeyError(key) from None
            raise
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        await asyncio.to_thread(self.client.put_object, self.bucket, check_key(key), io.BytesIO(data), len(data),
                                content_type=content_type)
        return key

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._get, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.remove_object, self.bucket, check_key(key))


def storage_from_settings(settings: Settings, own: StorageSettings | None = None) -> BlobStorage:
    """The store the settings name: S3 when YOUFU_STORAGE_KIND=s3, else the folder."""
    own = own or StorageSettings()
    if own.kind == "s3":
        if not own.s3_endpoint:
            raise ValueError("YOUFU_STORAGE_KIND=s3 needs YOUFU_STORAGE_S3_ENDPOINT")
        return S3Storage(own)
    if own.kind != "local":
        raise ValueError(f"YOUFU_STORAGE_KIND must be local or s3, not {own.kind!r}")
    return LocalFolderStorage(own.folder or settings.var_dir / "blobs")

"""shared/storage.py: the local folder store (what runs by default and in the tests), key checks,
and choosing the store from the settings (the S3 store is configured in deploy/k8s, not run here)."""
from __future__ import annotations

import pytest

from shared.settings import Settings
from shared.storage import BlobStorage, LocalFolderStorage, S3Storage, StorageSettings, check_key, storage_from_settings


async def test_local_folder_put_get_replace_delete(tmp_path):
    store = LocalFolderStorage(tmp_path / "blobs")
    assert isinstance(store, BlobStorage)
    assert await store.put("orders/photos/a/b.jpg", b"one", "image/jpeg") == "orders/photos/a/b.jpg"
    assert await store.get("orders/photos/a/b.jpg") == b"one"
    await store.put("orders/photos/a/b.jpg", b"two", "image/jpeg")
    assert await store.get("orders/photos/a/b.jpg") == b"two"
    assert not [p for p in (tmp_path / "blobs").rglob(".part-*")]  # no half-written files left
    await store.delete("orders/photos/a/b.jpg")
    await store.delete("orders/photos/a/b.jpg")  # absent: nothing happens
    with pytest.raises(KeyError):
        await store.get("orders/photos/a/b.jpg")


@pytest.mark.parametrize("key", ["../etc/passwd", "a/../../b", "/abs", "a//b", "a/", "", "a b", "a\\b", "x/.."])
def test_keys_cannot_leave_the_store(key):
    with pytest.raises(ValueError):
        check_key(key)


def test_the_store_comes_from_the_settings(tmp_path):
    settings = Settings(var_dir=tmp_path)
    local = storage_from_settings(settings, StorageSettings())
    assert isinstance(local, LocalFolderStorage) and local.root == tmp_path / "blobs"
    s3 = storage_from_settings(settings, StorageSettings(kind="s3", s3_endpoint="minio.youfu.svc:9000",
                                                         s3_access_key="k", s3_secret_key="s", s3_secure=False))
    assert isinstance(s3, S3Storage) and s3.bucket == "youfu-blobs"  # the client is built, nothing is contacted
    with pytest.raises(ValueError):
        storage_from_settings(settings, StorageSettings(kind="s3"))
    with pytest.raises(ValueError):
        storage_from_settings(settings, StorageSettings(kind="ftp"))

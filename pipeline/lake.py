"""The data lake: zone paths and file access for a local folder or an S3 bucket (MinIO or AWS).

Spark reads and writes through `uri()` (s3a:// for S3); plain-Python writers (the Kafka landing) use
`filesystem`, a pyarrow FileSystem, so both see the same objects.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.settings import Settings


def _hidden_beside(final: str) -> str:
    """Where an object is written before it is renamed to `final`: a name starting with a dot, which Spark,
    Hadoop and Arrow datasets skip when they read a folder, so what a killed writer leaves is never read (the
    folder's next `replace_folder` deletes it)."""
    folder, name = final.rsplit("/", 1)
    return f"{folder}/.{name}.tmp-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Lake:
    root: str  # local path, or s3://bucket/prefix
    s3_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    aws_access_key_id: str | None = None
    aws_secret_access_key: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Lake:
        return cls(
            root=settings.lake_root,
            s3_endpoint_url=settings.s3_endpoint_url,
            aws_region=settings.aws_region,
            aws_access_key_id=settings.aws_access_key_id,
            aws_secret_access_key=settings.aws_secret_access_key,
        )

    @property
    def is_s3(self) -> bool:
        return self.root.startswith(("s3://", "s3a://"))

    @property
    def _base(self) -> str:
        """Root without scheme: what pyarrow's filesystems take."""
        if self.is_s3:
            return self.root.split("://", 1)[1].rstrip("/")
        return str(Path(self.root).resolve())

    def path(self, *parts: str) -> str:
        """Path of a lake object for `filesystem` (no scheme)."""
        return "/".join([self._base, *[p.strip("/") for p in parts if p]])

    def uri(self, *parts: str) -> str:
        """URI of a lake object for Spark."""
        return ("s3a://" if self.is_s3 else "file://") + self.path(*parts)

    @property
    def filesystem(self) -> pafs.FileSystem:
        if not self.is_s3:
            return pafs.LocalFileSystem()
        endpoint = self.s3_endpoint_url
        return pafs.S3FileSystem(
            region=self.aws_region,
            access_key=self.aws_access_key_id,
            secret_key=self.aws_secret_access_key,
            endpoint_override=endpoint.split("://", 1)[-1] if endpoint else None,
            scheme=endpoint.split("://", 1)[0] if endpoint else "https",
        )

    def write_parquet(self, table: pa.Table, *parts: str, row_group_size: int | None = None) -> str:
        """Write a Parquet object so that readers never see it half-written, and return its path.

        Locally the file is written beside its final name, hidden, and renamed (atomic on POSIX); an S3 object
        only becomes visible when its upload completes.
        """
        fs, final = self.filesystem, self.path(*parts)
        fs.create_dir(final.rsplit("/", 1)[0], recursive=True)
        target = final if self.is_s3 else _hidden_beside(final)
        pq.write_table(table, target, filesystem=fs, compression="zstd", row_group_size=row_group_size)
        if target != final:
            fs.move(target, final)
        return final

    def write_file(self, content: bytes | Path, *parts: str) -> str:
        """Write bytes, or copy a local file, to a lake object; like `write_parquet`, never seen half-written."""
        fs, final = self.filesystem, self.path(*parts)
        fs.create_dir(final.rsplit("/", 1)[0], recursive=True)
        target = final if self.is_s3 else _hidden_beside(final)
        with fs.open_output_stream(target) as out:
            if isinstance(content, bytes):
                out.write(content)
            else:
                with open(content, "rb") as src:
                    while chunk := src.read(16 * 1024 * 1024):
                        out.write(chunk)
        if target != final:
            fs.move(target, final)
        return final

    def replace_folder(self, table: pa.Table, *parts: str) -> str:
        """Write `table` as the object `parts` (its last part the file name), then delete every other object of its
        folder (an older layout's part files, Spark's _SUCCESS), so the folder reads as exactly this table."""
        written = self.write_parquet(table, *parts)
        for path in self.list_files(*parts[:-1], suffix=""):
            if path != written:
                self.filesystem.delete_file(path)
        return written

    def list_files(self, *parts: str, suffix: str = ".parquet") -> list[str]:
        """Every object under a prefix whose name ends with `suffix` (recursive; empty if the prefix is absent)."""
        fs = self.filesystem
        selector = pafs.FileSelector(self.path(*parts), recursive=True, allow_not_found=True)
        return sorted(
            info.path
            for info in fs.get_file_info(selector)
            if info.type == pafs.FileType.File and info.path.endswith(suffix)
        )

    def versions(self, *parts: str) -> dict[str, str]:
        """Every Parquet object under a prefix (recursive) and what changes when it is rewritten: its size and
        modification time."""
        selector = pafs.FileSelector(self.path(*parts), recursive=True, allow_not_found=True)
        return {info.path: f"{info.size}:{info.mtime_ns}" for info in self.filesystem.get_file_info(selector)
                if info.type == pafs.FileType.File and info.path.endswith(".parquet")}

    def delete_folder(self, *parts: str) -> None:
        """Delete a folder and everything under it (nothing if it is absent)."""
        if self.filesystem.get_file_info(self.path(*parts)).type == pafs.FileType.Directory:
            self.filesystem.delete_dir(self.path(*parts))

    def folders(self, *parts: str) -> list[str]:
        """The names of the folders directly under a prefix (empty if the prefix is absent); reads no object."""
        selector = pafs.FileSelector(self.path(*parts), recursive=False, allow_not_found=True)
        return sorted(info.base_name for info in self.filesystem.get_file_info(selector)
                      if info.type == pafs.FileType.Directory)

    def is_file(self, *parts: str) -> bool:
        return self.filesystem.get_file_info(self.path(*parts)).type == pafs.FileType.File

    def dataset(self, *parts: str) -> ds.Dataset | None:
        """The Parquet objects under a prefix as one pyarrow dataset (hive folders become columns), or None."""
        files = self.list_files(*parts)
        if not files:
            return None
        return ds.dataset(files, filesystem=self.filesystem, format="parquet", partitioning="hive",
                          partition_base_dir=self.path(*parts))

    def spark_uri_of(self, path: str) -> str:
        """Turn a `filesystem` path (as returned by list_files) into a Spark URI."""
        return ("s3a://" if self.is_s3 else "file://") + path

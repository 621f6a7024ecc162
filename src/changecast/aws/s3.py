"""The ObjectStore port on S3, with conditional writes (If-None-Match / If-Match)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from changecast.aws.errors import aws_call, error_code, translate
from changecast.errors import ConflictError, NotFoundError
from changecast.ports import StoredObject

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class S3ObjectStore:
    """One bucket as an ``ObjectStore``."""

    def __init__(self, client: S3Client, bucket: str, *, page_size: int | None = None) -> None:
        """``page_size``: keys per ListObjectsV2 page (S3's default, 1,000, when None)."""
        self.client = client
        self.bucket = bucket
        self.page_size = page_size

    def reachable(self) -> None:
        """Raise unless the bucket exists and these credentials may use it (HeadBucket)."""
        with aws_call(f"HeadBucket {self.bucket}"):
            self.client.head_bucket(Bucket=self.bucket)

    def get(self, key: str) -> StoredObject:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "404", "NotFound"}:
                raise NotFoundError(f"no object at s3://{self.bucket}/{key}", key=key) from None
            raise translate(exc, operation=f"GetObject {key}") from exc
        return StoredObject(key=key, body=answer["Body"].read(), etag=answer["ETag"])

    def put(
        self,
        key: str,
        body: bytes,
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
        content_type: str = "application/json",
    ) -> str:
        extra: dict[str, Any] = {}
        if if_none_match:
            extra["IfNoneMatch"] = "*"
        if if_match is not None:
            extra["IfMatch"] = if_match
        try:
            answer = self.client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, **extra
            )
        except ClientError as exc:
            code = error_code(exc)
            if code in {"PreconditionFailed", "412", "ConditionalRequestConflict"}:
                raise ConflictError(
                    f"s3://{self.bucket}/{key} changed or already exists", key=key, code=code
                ) from None
            if code in {"NoSuchKey", "404"} and if_match is not None:
                raise ConflictError(f"s3://{self.bucket}/{key} no longer exists", key=key) from None
            raise translate(exc, operation=f"PutObject {key}") from exc
        return str(answer["ETag"])

    def delete(self, key: str) -> None:
        with aws_call(f"DeleteObject {key}"):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise translate(exc, operation=f"HeadObject {key}") from exc
        return True

    def list_keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        config: Any = {"PageSize": self.page_size} if self.page_size else {}
        with aws_call(f"ListObjectsV2 {prefix}"):
            pages = paginator.paginate(Bucket=self.bucket, Prefix=prefix, PaginationConfig=config)
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"]

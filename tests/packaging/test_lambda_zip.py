"""The worker zip: reproducible, within its size targets, and it delivers from a clean Python.

The zip is built with the real builder (pip from PyPI, or pip's cache, for manylinux x86_64).
The delivery test unzips it into an empty folder and runs the handler in ``python -I -S`` with
only that folder on ``sys.path``: it cannot see this source tree nor any site-packages. The AWS
side is moto's server, running in this test process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from changecast.aws.dynamodb import create_ledger_table
from changecast.aws.s3 import S3ObjectStore
from changecast.aws.sessions import AwsClients, AwsTarget
from changecast.delivery.redelivery import s3_event_body
from changecast.distribution.models import DistributionEvent
from changecast.index.engine import open_index
from changecast.local import provision
from changecast.local.demo import demo_config, demo_ses_config
from changecast.local.moto_store import sent_mail
from changecast.packaging.build import ZIP_EPOCH, PackageManifest, build, write_manifest
from changecast.packaging.kinds import KINDS
from tests.delivery_support import publish, stored_change
from tests.production.stack import BUCKET, moto_hub

pytestmark = pytest.mark.packaging

MB = 1_000_000
FORBIDDEN = ("fastapi", "starlette", "onelogin", "lxml", "xmlsec", "moto", "mangum", "uvicorn")
CUSTOMER = "acme"

RUN_HANDLER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from changecast.workers.lambda_handler import handler
answer = handler(json.loads(sys.argv[2]), None)
outside = sorted(
    name for name, module in list(sys.modules.items())
    if (getattr(module, "__file__", None) or sys.argv[1]).startswith(sys.base_prefix) is False
    and not (getattr(module, "__file__", None) or sys.argv[1]).startswith(sys.argv[1])
)
print(json.dumps({"answer": answer, "outside": outside, "path": sys.path,
                  "modules": sorted(m for m in sys.modules if m.startswith("changecast"))}))
"""


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[PackageManifest, PackageManifest]:
    """The x86_64 worker zip, built twice into two folders."""
    first = build(KINDS["worker"], "x86_64", tmp_path_factory.mktemp("first"))
    second = build(KINDS["worker"], "x86_64", tmp_path_factory.mktemp("second"))
    return first, second


def zip_of(tmp_path_factory: pytest.TempPathFactory, manifest: PackageManifest) -> Path:
    found = sorted(Path(tmp_path_factory.getbasetemp()).glob(f"first*/{manifest.file}"))
    assert found, manifest.file
    return found[0]


def test_two_builds_are_byte_identical(builds: tuple[PackageManifest, PackageManifest]) -> None:
    first, second = builds
    assert first.sha256 == second.sha256
    assert first == second


def test_the_worker_zip_meets_its_size_targets(
    builds: tuple[PackageManifest, PackageManifest],
) -> None:
    manifest = builds[0]
    assert manifest.zipped_bytes <= 40 * MB
    assert manifest.unzipped_bytes <= 150 * MB
    assert manifest.glibc <= "2.26"
    assert manifest.requirements["boto3"]
    assert manifest.handler == "changecast.workers.lambda_handler.handler"


def test_the_worker_zip_holds_only_what_the_worker_imports(
    builds: tuple[PackageManifest, PackageManifest], tmp_path_factory: pytest.TempPathFactory
) -> None:
    with zipfile.ZipFile(zip_of(tmp_path_factory, builds[0])) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        assert names == sorted(names)
        tops = {name.split("/")[0] for name in names}
        assert not {name for name in tops if name.split(".")[0].split("-")[0] in FORBIDDEN}
        assert not [n for n in names if n.startswith(("changecast/web/", "changecast/cli/"))]
        assert not [n for n in names if n.startswith("changecast/local/")]
        assert "changecast/local_runtime.py" in names
        assert not [n for n in names if "/tests/" in n or n.startswith("bin/")]
        services = {
            n.split("/")[2] for n in names if n.startswith("botocore/data/") and n.count("/") > 3
        }
        assert services == KINDS["worker"].aws_services
        assert {info.date_time for info in infos} == {ZIP_EPOCH}
        assert {info.external_attr >> 16 for info in infos} == {0o100644}
        pycs = [info for info in infos if info.filename.endswith(".pyc")]
        assert len(pycs) > 1000
        # Hash-based and unchecked (PEP 552 flags == 0b01): no timestamps, no source checks.
        for info in pycs[:: max(1, len(pycs) // 50)]:
            assert archive.read(info)[4:8] == b"\x01\x00\x00\x00", info.filename


def test_the_manifest_lists_each_package_once(
    builds: tuple[PackageManifest, PackageManifest], tmp_path: Path
) -> None:
    (tmp_path / builds[0].file).write_bytes(b"zip")
    write_manifest(tmp_path, [builds[0]])
    path = write_manifest(tmp_path, [builds[1]])
    body = json.loads(path.read_text(encoding="utf-8"))
    assert [(p["kind"], p["arch"]) for p in body["packages"]] == [("worker", "x86_64")]
    assert body["packages"][0]["sha256"] == builds[0].sha256


@pytest.fixture
def unzipped(
    builds: tuple[PackageManifest, PackageManifest],
    tmp_path_factory: pytest.TempPathFactory,
    tmp_path: Path,
) -> Path:
    folder = tmp_path / "task"
    folder.mkdir()
    with zipfile.ZipFile(zip_of(tmp_path_factory, builds[0])) as archive:
        archive.extractall(folder)
    return folder


@pytest.fixture
def hub_with_customer(tmp_path: Path) -> Iterator[tuple[Any, Any, AwsClients]]:
    """moto's server with config in S3, the ledger, acme's queues and acme's SES account."""
    with moto_hub(tmp_path) as hub:
        hub.put_config()
        config = demo_config(2, portal_url="https://portal.example.com")
        config = config.model_copy(
            update={"s3_config": config.s3_config.model_copy(update={"bucket_name": BUCKET})}
        )
        aws = AwsClients(target=AwsTarget(region="us-east-1", endpoint_url=hub.endpoint))
        create_ledger_table(aws.client("dynamodb"), "changecast-ledger")
        provision.create_queues(aws, config)
        mapping = config.customer_mappings[CUSTOMER]
        provision.provision_customer(aws, config, demo_ses_config(), mapping, 0)
        yield hub, config, aws


def sqs_event(body: str, queue_arn: str) -> dict[str, Any]:
    record = {
        "messageId": "m0",
        "receiptHandle": "r0",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }
    return {"Records": [record]}


def test_the_unzipped_worker_delivers_a_trigger_from_a_clean_python(
    unzipped: Path, hub_with_customer: tuple[Any, Any, AwsClients], tmp_path: Path
) -> None:
    hub, config, aws = hub_with_customer
    mapping = config.customer_mappings[CUSTOMER]
    database = f"sqlite:///{tmp_path / 'index.db'}"
    open_index(database).engine.dispose()  # the deploy step: `changecast index migrate`

    store = S3ObjectStore(aws.client("s3"), BUCKET)
    change = stored_change(customers=[CUSTOMER])
    trigger = publish(store, change, DistributionEvent.APPROVED, CUSTOMER)
    event = sqs_event(s3_event_body(BUCKET, trigger.key), str(mapping.sqs_queue_arn))

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        **{k: v for k, v in hub.env.items() if k.startswith("AWS_")},
        "CHANGECAST_MODE": "aws",
        "CHANGECAST_CONFIG": f"s3://{BUCKET}/config/config.json",
        "CHANGECAST_AWS_ENDPOINT_URL": hub.endpoint,
        "CHANGECAST_CUSTOMER": CUSTOMER,
        "CHANGECAST_DATABASE_URL": database,
    }
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", RUN_HANDLER, str(unzipped), json.dumps(event)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["answer"] == {"batchItemFailures": []}, done.stderr[-3000:]
    # Every module came from the unzipped folder or the interpreter's standard library.
    assert report["outside"] == []
    assert str(Path(changecast_source()).parent) not in json.dumps(report["path"])
    assert not [m for m in report["modules"] if m.startswith(("changecast.web", "changecast.cli"))]

    mail = sent_mail(mapping.account_id, mapping.region)
    assert mail, "moto's SES accepted no message"
    assert len(mail) >= 2, mail
    assert all(config.email_config.domain in m.source for m in mail), [m.source for m in mail]
    assert any(m.raw and "text/calendar" in m.raw for m in mail)  # icalendar ran there too
    assert all(m.destinations for m in mail)

    executions = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="executions/")
    keys = [item["Key"] for item in executions.get("Contents", [])]
    assert keys == [f"executions/{change.change_id}/v{change.version}/{CUSTOMER}.json"]
    record = aws.client("s3").get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    assert b"delivered" in record


def changecast_source() -> str:
    import changecast

    return str(Path(changecast.__file__).parent)


@pytest.mark.parametrize("kind", ["worker", "portal"])
def test_arm64_builds_from_wheels_that_amazon_linux_2_runs(tmp_path: Path, kind: str) -> None:
    """Lambda's python3.11 runtime is Amazon Linux 2: no wheel may need glibc above 2.26."""
    manifest = build(KINDS[kind], "arm64", tmp_path)
    assert manifest.arch == "arm64"
    assert manifest.glibc <= "2.26"
    assert (tmp_path / manifest.file).stat().st_size == manifest.zipped_bytes
    with zipfile.ZipFile(tmp_path / manifest.file) as archive:
        names = archive.namelist()
    native = [n for n in names if n.endswith(".so") or ".so." in n]
    assert native
    assert not [n for n in native if "x86_64" in n]

"""deploy/: the Kubernetes manifests of the release step, and the commands docs/deployment.md gives for them.

There is no cluster here: the manifests are checked against the Kubernetes API schemas that
kubernetes-validate bundles (offline), and the rest against what the image and the docs say.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any

import kubernetes_validate
import pytest
import yaml

from scripts.database.backup import BACKUP_DIR
from testing.systems import REPO_ROOT

# Only in `make test-all`: deploy validation: every manifest against several Kubernetes schemas.
pytestmark = pytest.mark.full

DEPLOY = REPO_ROOT / "deploy"
MANIFESTS = sorted(path for path in DEPLOY.rglob("*") if path.suffix in (".yaml", ".yml"))
DOCS = (REPO_ROOT / "docs" / "deployment.md").read_text()
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
# The oldest and the newest release whose schemas kubernetes-validate 1.37 bundles.
KUBERNETES_VERSIONS = ["1.25.0", "1.37.0"]


def load(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


JOB = load(DEPLOY / "migrate-job.yaml")[0]
POD = JOB["spec"]["template"]["spec"]
CONTAINER = POD["containers"][0]


def env(name: str) -> dict[str, Any]:
    return next(variable for variable in CONTAINER["env"] if variable["name"] == name)


def mount_of(volume_name: str) -> PurePosixPath:
    return PurePosixPath(next(m["mountPath"] for m in CONTAINER["volumeMounts"] if m["name"] == volume_name))


def documented_secrets() -> dict[str, set[str]]:
    """The keys each `kubectl create secret generic NAME` of the docs creates, comments included."""
    secrets: dict[str, set[str]] = {}
    for command in DOCS.split("kubectl create secret generic ")[1:]:
        name, rest = command.split(maxsplit=1)
        rest = rest.split("kubectl ")[0]  # up to the next command
        secrets[name] = set(re.findall(r"--from-(?:literal|file)=([\w.-]+)=", rest))
    return secrets


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: str(path.relative_to(DEPLOY)))
def test_every_manifest_in_deploy_is_valid_for_kubernetes(manifest: Path, version: str) -> None:
    resources = load(manifest)

    assert resources, f"{manifest} holds no resource"
    for resource in resources:
        # strict: a field the API does not have (a typo) is an error, as kubectl apply makes it.
        kubernetes_validate.validate(resource, version, strict=True)


def test_the_validator_rejects_a_misspelt_field_in_the_job() -> None:
    job = load(DEPLOY / "migrate-job.yaml")[0]
    job["spec"]["backofLimit"] = job["spec"].pop("backoffLimit")

    with pytest.raises(kubernetes_validate.ValidationError, match="'backofLimit' was unexpected"):
        kubernetes_validate.validate(job, KUBERNETES_VERSIONS[0], strict=True)


def test_the_kubernetes_job_runs_the_production_migration_once() -> None:
    assert JOB["kind"] == "Job" and JOB["spec"]["backoffLimit"] == 0
    assert POD["restartPolicy"] == "Never"
    assert CONTAINER["command"] == ["make", "migrate", "ENV=production"]


def test_the_job_reads_database_url_from_the_database_secret() -> None:
    assert env("DATABASE_URL")["valueFrom"]["secretKeyRef"] == {"name": "database", "key": "url"}


def test_the_job_sets_direct_database_url_only_when_the_secret_has_one() -> None:
    assert env("DIRECT_DATABASE_URL")["valueFrom"]["secretKeyRef"] == {
        "name": "database",
        "key": "direct-url",
        "optional": True,
    }


def test_a_job_that_never_ends_fails_by_itself() -> None:
    # The release's wait (docs/deployment.md) ends only when the Job completes or fails.
    assert 0 < JOB["spec"]["activeDeadlineSeconds"] <= 86400


def test_the_backup_volume_is_where_the_production_migration_writes_its_backup() -> None:
    migrate_stage = re.search(r"^FROM \S+ AS migrate$(.*?)(?=^FROM |\Z)", DOCKERFILE, re.M | re.S)
    assert migrate_stage, "the Dockerfile has no migrate target"
    # The image's working directory is the repository root: scripts/database/backup.py writes under it.
    workdir = re.findall(r"^WORKDIR (\S+)$", migrate_stage.group(1), re.M)[-1]

    assert mount_of("backups") == PurePosixPath(workdir) / BACKUP_DIR.relative_to(REPO_ROOT).as_posix()


def test_the_backup_claim_the_job_mounts_is_shipped_in_deploy() -> None:
    claim = next(v for v in POD["volumes"] if v["name"] == "backups")["persistentVolumeClaim"]["claimName"]
    claims = [r["metadata"]["name"] for m in MANIFESTS for r in load(m) if r["kind"] == "PersistentVolumeClaim"]

    assert claim in claims


def test_the_ca_certificate_secret_is_optional() -> None:
    secret = next(v for v in POD["volumes"] if v["name"] == "db-ca")["secret"]

    assert secret["optional"] is True


def test_the_docs_sslrootcert_is_the_ca_file_the_job_mounts() -> None:
    sslrootcert = re.search(r"sslrootcert=(/[^'&\s]+)", DOCS.split("kubectl create secret generic database ")[1])
    assert sslrootcert, "the docs' Secret URL has no sslrootcert"
    path = PurePosixPath(sslrootcert.group(1))
    secret = next(v for v in POD["volumes"] if v["name"] == "db-ca")["secret"]["secretName"]

    assert path.parent == mount_of("db-ca")
    assert path.name in documented_secrets()[secret]


def test_the_docs_create_every_secret_key_the_job_reads() -> None:
    read = {
        (v["valueFrom"]["secretKeyRef"]["name"], v["valueFrom"]["secretKeyRef"]["key"])
        for v in CONTAINER["env"]
        if "secretKeyRef" in v.get("valueFrom", {})
    }
    documented = documented_secrets()

    assert read and all(key in documented.get(name, set()) for name, key in read), (read, documented)


def test_the_docs_set_image_names_the_jobs_container() -> None:
    set_image = re.search(r"kubectl set image .*?\s([\w-]+)=\S+:\S+", DOCS, re.S)
    assert set_image, "the docs give no kubectl set image"

    assert set_image.group(1) == CONTAINER["name"]


def test_every_deploy_file_the_docs_kubectl_commands_name_exists() -> None:
    commands = [line for line in DOCS.splitlines() if "kubectl" in line]
    named = {path for line in commands for path in re.findall(r"\bdeploy/[\w./-]*\w", line)}

    assert named, "no kubectl command of the docs names a file in deploy/"
    assert {path for path in named if not (REPO_ROOT / path).is_file()} == set()

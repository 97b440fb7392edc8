"""Encrypted state for cloud stacks: `python -m stacks.pipeline.state_encryption --stack S`.

The state of a stack with EKS or GKE clusters holds credentials (kubeconfigs, the remote-secret
reader tokens, with a self-managed mesh CA its keys). Pulumi encrypts them with the stack's
secrets provider; with a passphrase provider and an empty passphrase that encryption is
decorative. Such a stack runs only with a cloud KMS key (`secretsprovider: awskms://…` or
`gcpkms://…` in its stack file, written by `pulumi stack change-secrets-provider`), the
Pulumi Cloud backend's own keys, or a non-empty passphrase. Kubeconfig and render stacks may
keep an empty passphrase (local development) and get one warning line.

The pipeline calls `require` before it opens a stack; `scripts/deploy.sh` runs this module
before the pipeline. Exit 2 (refused) with how to fix it, 0 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stacks.config import ConfigError, EksClusterSpec, GkeClusterSpec, StackConfig
from stacks.pipeline.engine import DEFAULT_STATE_DIR, SELF_MANAGED_SCHEMES, SetupError
from stacks.pipeline.overrides import OverrideError
from stacks.pipeline.stackfile import ROOT, StackFileError, load_config, read_yaml, stack_file

KMS_SCHEMES = ("awskms://", "gcpkms://", "azurekeyvault://", "hashivault://")
"""Secrets providers backed by a key management service: nothing to leak from the environment."""
DOCS = "docs/security.md#state-encryption"


class StateEncryptionError(SetupError):
    """A cloud stack would write its state with an empty passphrase (exit 2: nothing was run)."""


@dataclass(frozen=True)
class Encryption:
    """How a stack's secrets are encrypted: `provider` is the stack file's `secretsprovider` (None: default)."""

    backend: str
    provider: str | None
    passphrase_set: bool

    @property
    def kms(self) -> bool:
        return bool(self.provider and self.provider.startswith(KMS_SCHEMES))

    @property
    def service(self) -> bool:
        """The Pulumi Cloud backend encrypts with per-stack keys of its own unless a provider is chosen."""
        return self.provider in (None, "default", "service") and not self.backend.startswith(SELF_MANAGED_SCHEMES)

    @property
    def encrypted(self) -> bool:
        return self.kms or self.service or self.passphrase_set


def stack_secrets_provider(stack: str, root: Path = ROOT) -> str | None:
    """`secretsprovider:` of `Pulumi.<stack>.yaml` (None when absent or the file is missing)."""
    path = stack_file(stack, root)
    if not path.is_file():
        return None
    document = read_yaml(path)
    value = document.get("secretsprovider") if isinstance(document, dict) else None
    return str(value) if value else None


def passphrase_set(environ: Mapping[str, str]) -> bool:
    """A non-empty `PULUMI_CONFIG_PASSPHRASE`, or a `PULUMI_CONFIG_PASSPHRASE_FILE` that is not empty."""
    if environ.get("PULUMI_CONFIG_PASSPHRASE"):
        return True
    name = environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    if not name:
        return False
    path = Path(name).expanduser()
    return path.is_file() and path.stat().st_size > 0


def encryption(stack: str, environ: Mapping[str, str], root: Path = ROOT) -> Encryption:
    """What `stack` would be encrypted with under `environ` (backend default: the pipeline's file backend)."""
    return Encryption(
        backend=environ.get("PULUMI_BACKEND_URL") or f"file://{DEFAULT_STATE_DIR}",
        provider=stack_secrets_provider(stack, root),
        passphrase_set=passphrase_set(environ),
    )


def cloud_clusters(config: StackConfig) -> list[str]:
    return [c.name for c in config.clusters if isinstance(c, EksClusterSpec | GkeClusterSpec)]


def require(stack: str, config: StackConfig, state: Encryption) -> str | None:
    """Raise StateEncryptionError for a cloud stack with an empty passphrase; a warning line for
    any other stack with one; None when the state is encrypted."""
    if state.encrypted:
        return None
    cloud = cloud_clusters(config)
    if not cloud:
        return (
            f"warning: stack {stack} keeps its state with an empty passphrase (fine for kubeconfig and render "
            f"stacks on this machine; set PULUMI_CONFIG_PASSPHRASE to encrypt it, {DOCS})"
        )
    raise StateEncryptionError(
        f"stack {stack} creates cloud clusters ({', '.join(cloud)}): its state holds their kubeconfigs, the mesh's "
        "reader tokens and CA material, and an empty passphrase does not encrypt them. Set a passphrase "
        "(export PULUMI_CONFIG_PASSPHRASE_FILE=<file with a long random passphrase>, or PULUMI_CONFIG_PASSPHRASE), "
        f"or encrypt with a KMS key: pulumi stack change-secrets-provider --stack {stack} "
        "'awskms://alias/meshgate-state?region=<region>' (or 'gcpkms://projects/<p>/locations/<l>/keyRings/<r>/"
        f"cryptoKeys/<k>'), which records `secretsprovider:` in Pulumi.{stack}.yaml. See {DOCS}"
    )


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m stacks.pipeline.state_encryption",
        description="Refuse (exit 2) a cloud stack whose state would be encrypted with an empty passphrase.",
    )
    parser.add_argument("--stack", "-s", required=True)
    args = parser.parse_args(argv)
    env = os.environ if environ is None else environ
    try:
        warning = require(args.stack, load_config(args.stack), encryption(args.stack, env))
    except (StateEncryptionError, ConfigError, StackFileError, OverrideError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if warning:
        print(warning, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

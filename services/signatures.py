"""Ed25519 signatures of decisions, with NATS nkeys encodings: a seed (`SU…`) stays with the
person, the public key (`U…`) is registered in the ledger, and the signature travels with the
decision (a command's `--sign-with` or a message's `signature` field)."""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import nkeys
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from domain.errors import SignatureError

SEED_ENV = "PADDOCK_SIGNING_SEED_FILE"


class Signer(Protocol):
    """Whatever provides the signature of a statement under a public key: a local seed (CLI,
    demo) or a signature presented with a message (NATS)."""

    @property
    def public_key(self) -> str: ...

    def signature_for(self, statement: bytes) -> bytes: ...


@dataclass(frozen=True)
class SeedSigner:
    seed: bytes

    @property
    def public_key(self) -> str:
        return str(_keypair(self.seed).public_key.decode())

    def signature_for(self, statement: bytes) -> bytes:
        return bytes(_keypair(self.seed).sign(statement))

    def sign_b64(self, statement: bytes) -> str:
        return base64.b64encode(self.signature_for(statement)).decode()

    @classmethod
    def generate(cls) -> SeedSigner:
        return cls.from_raw(os.urandom(32))

    @classmethod
    def from_raw(cls, raw: bytes) -> SeedSigner:
        return cls(bytes(nkeys.encode_seed(raw, nkeys.PREFIX_BYTE_USER)))

    @classmethod
    def from_file(cls, path: str | Path) -> SeedSigner:
        file = Path(path)
        try:
            text = file.read_text().strip()
        except OSError as error:
            raise SignatureError(f"cannot read the signing seed file: {error.strerror}",
                                 where=str(file)) from None
        signer = cls(text.encode())
        try:
            _ = signer.public_key
        except (nkeys.NkeysError, ValueError, binascii.Error):
            raise SignatureError("not an nkeys user seed (a line starting with 'SU', as written "
                                 "by `paddock keys generate`)", where=str(file)) from None
        return signer


def _keypair(seed: bytes) -> nkeys.KeyPair:
    return nkeys.from_seed(bytearray(seed))


@dataclass(frozen=True)
class PresentedSignature:
    """A signature that arrived with a message: given, not computed."""

    public_key: str
    value: str  # base64

    def signature_for(self, statement: bytes) -> bytes:
        try:
            return base64.b64decode(self.value, validate=True)
        except (binascii.Error, ValueError):
            raise SignatureError("the signature is not valid base64") from None


def verify(public_key: str, statement: bytes, signature: bytes) -> None:
    """SignatureError unless `signature` is the key's ed25519 signature of `statement`."""
    key = _verify_key(public_key)
    try:
        key.verify(statement, signature)
    except (BadSignatureError, ValueError, TypeError):
        raise SignatureError(f"the signature does not match this decision under key "
                             f"{public_key}: it was made for other content or by another key") from None


def _verify_key(public_key: str) -> VerifyKey:
    """The ed25519 key inside an nkeys user public key (`U…`: base32 of prefix, key, CRC16)."""
    try:
        raw = base64.b32decode(public_key + "=" * (-len(public_key) % 8))
    except (binascii.Error, ValueError):
        raw = b""
    body, crc = raw[:-2], raw[-2:]
    if (len(raw) != 35 or body[0] != nkeys.PREFIX_BYTE_USER
            or crc != bytes(nkeys.crc16_checksum(body))):
        raise SignatureError(f"'{public_key}' is not an nkeys user public key (56 characters "
                             "starting with 'U', as printed by `paddock keys generate`)")
    return VerifyKey(bytes(body[1:]))


def is_public_key(value: str) -> bool:
    try:
        _verify_key(value)
    except SignatureError:
        return False
    return True

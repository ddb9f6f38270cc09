"""`paddock keys`: signing keys of stewards and officials (generate, register, revoke, list),
and `--sign-with`, the seed that signs a decision given on the command line."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from domain.authority import SIGNING_ROLES
from domain.errors import InvalidInputError
from infra.cli.context import actor_of, ledger_from, now_or, reader_from, report
from infra.cli.output import destination
from infra.cli.render import as_json, table
from services.signatures import SEED_ENV, SeedSigner

ROLE_CHOICES = sorted(r.value for r in SIGNING_ROLES)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                common: argparse.ArgumentParser) -> None:
    keys = sub.add_parser("keys", help="signing keys of stewards and officials").add_subparsers(
        dest="sub", required=True)
    gen = keys.add_parser("generate", parents=[common],
                          help="make a new key: the seed goes to a file only you can read")
    gen.add_argument("--out", required=True, help="seed file to create (refuses to overwrite)")
    gen.add_argument("--role", choices=ROLE_CHOICES,
                     help="the role the key will sign for: printed in the `keys register` to run next")
    gen.add_argument("--person", help="whose key it is: printed in the `keys register` to run next")
    gen.set_defaults(handler="keys_generate")
    reg = keys.add_parser("register", parents=[common],
                          help="vouch that a public key is this person's, for one role")
    reg.add_argument("public_key", help="the U... key printed by `paddock keys generate`")
    reg.add_argument("--person", required=True)
    reg.add_argument("--role", required=True, choices=ROLE_CHOICES)
    reg.add_argument("--effective-at", help="default: now")
    reg.set_defaults(handler="keys_register")
    rev = keys.add_parser("revoke", parents=[common], help="a revoked key signs nothing new")
    rev.add_argument("public_key")
    rev.add_argument("--reason", required=True)
    rev.add_argument("--effective-at", help="default: now")
    rev.set_defaults(handler="keys_revoke")
    ls = keys.add_parser("list", parents=[common], help="registered keys")
    ls.set_defaults(handler="keys_list")
    demo = keys.add_parser("demo", parents=[common],
                           help="register the demo's public keys (for `paddock produce` demo runs)")
    demo.set_defaults(handler="keys_demo")


def add_sign_with(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sign-with", metavar="SEEDFILE",
                   help=f"the deciding person's seed file (default: ${SEED_ENV})")


def signer(args: argparse.Namespace) -> SeedSigner | None:
    path = args.sign_with or os.environ.get(SEED_ENV)
    return SeedSigner.from_file(path) if path else None


def keys_generate(args: argparse.Namespace) -> int:
    out = destination(args.out)  # a new path: an existing file is refused below, never replaced
    key = SeedSigner.generate()
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInputError(f"--out: '{args.out}' exists; a seed file is never overwritten") from None
    with os.fdopen(fd, "w") as file:
        file.write(key.seed.decode() + "\n")
    if args.json:
        print(as_json({"public_key": key.public_key, "seed_file": str(out),
                       "next": register_command(key.public_key, args.person, args.role)}))
    else:
        print(f"public key: {key.public_key}\nseed file:  {out} (mode 600: keep it secret)\n"
              f"next: {register_command(key.public_key, args.person, args.role)}")
    return 0


def register_command(public_key: str, person: str | None, role: str | None) -> str:
    """The `keys register` to run next, with placeholders for what `generate` was not told."""
    person_arg = shlex.quote(person) if person else "NAME"
    role_arg = role or "{" + "|".join(ROLE_CHOICES) + "}"
    return f"paddock keys register {public_key} --person {person_arg} --role {role_arg}"


def keys_register(args: argparse.Namespace) -> int:
    outcome = ledger_from(args).register_signing_key(
        args.public_key, person=args.person, role=args.role,
        effective_at=now_or(args.effective_at), actor=actor_of(args), source="cli")
    return report(args, outcome)


def keys_revoke(args: argparse.Namespace) -> int:
    outcome = ledger_from(args).revoke_signing_key(
        args.public_key, reason=args.reason, effective_at=now_or(args.effective_at),
        actor=actor_of(args), source="cli")
    return report(args, outcome)


def keys_demo(args: argparse.Namespace) -> int:
    from services.demo import register_demo_keys

    ledger = ledger_from(args)
    for outcome in register_demo_keys(ledger):
        report(args, outcome)
    return 0


def keys_list(args: argparse.Namespace) -> int:
    keys = sorted(reader_from(args).keys_state().signing_keys.values(), key=lambda k: k.registered_at)
    rows = [{"public_key": k.public_key, "person": k.person, "role": k.role,
             "registered_at": k.registered_at, "revoked_at": k.revoked_at} for k in keys]
    if args.json:
        print(as_json(rows))
        return 0
    if not rows:
        print("no signing keys registered", file=sys.stderr)
        return 0
    print(table(["key", "person", "role", "status"],
                [[k.public_key, k.person, k.role,
                  "revoked" if k.revoked_at else "active"] for k in keys]))
    return 0


HANDLERS = {"keys_generate": keys_generate, "keys_register": keys_register,
            "keys_revoke": keys_revoke, "keys_list": keys_list, "keys_demo": keys_demo}
__all__ = ["HANDLERS", "add_parsers", "add_sign_with", "signer"]

"""Authentication and TLS for the local Kafka and Cassandra (`pipeline services up --auth`).

A SERVICES_HOME runs its services with authentication or without, chosen at its first `up`: `up --auth` writes
`<SERVICES_HOME>/auth/` once, with a local CA, a server certificate for the loopback addresses, random passwords
and `env`, the settings that point every command at them. Kafka then has one SASL_SSL listener (SCRAM-SHA-512)
and Cassandra a PasswordAuthenticator with client TLS required; a later `up`, `status` or `down` finds the
folder and keeps to it. The folder and every file with a secret in it are readable by their owner only.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from pipeline.settings import Settings, env_name

USER = "pipeline"  # the role and SCRAM user every client of the project logs in as
BROKER_USER = "broker"  # the broker's own SCRAM user, for its inter-broker listener
SCRAM = "SCRAM-SHA-512"
# The certificate names every loopback address a local service or a node of a loopback cluster listens on.
LOOPBACK_NAMES = ("127.0.0.1", "127.0.0.2", "127.0.0.3", "localhost")


@dataclass(frozen=True)
class LocalAuth:
    """The credentials and certificates of one SERVICES_HOME's services."""

    folder: Path

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def server_pem(self) -> Path:
        """The server's private key and certificate chain in one PEM file (Kafka's and Cassandra's keystore)."""
        return self.folder / "server.pem"

    @property
    def env_file(self) -> Path:
        return self.folder / "env"

    def password(self, user: str, service: str) -> str:
        return (self.folder / f"{service}-{user}.password").read_text().strip()

    def fields(self) -> dict[str, str]:
        """The settings fields that make a client of these services log in as `pipeline` over TLS."""
        return {"kafka_security_protocol": "SASL_SSL", "kafka_sasl_mechanism": SCRAM,
                "kafka_sasl_username": USER, "kafka_sasl_password": self.password(USER, "kafka"),
                "kafka_ssl_ca_location": str(self.ca_file), "cassandra_username": USER,
                "cassandra_password": self.password(USER, "cassandra"), "cassandra_ssl_ca_file": str(self.ca_file)}

    def settings(self) -> dict[str, str]:
        """The same as environment variables: what `env` holds for every command."""
        return {env_name(field): value for field, value in self.fields().items()}


def folder(settings: Settings) -> Path:
    return Path(settings.services_home).resolve() / "auth"


def local_auth(settings: Settings) -> LocalAuth | None:
    """The home's credentials, if its services run with authentication."""
    auth = LocalAuth(folder(settings))
    return auth if auth.env_file.exists() else None


def create(settings: Settings) -> LocalAuth:
    """Write the CA, the server certificate, the passwords and `env` (once: an existing folder is kept)."""
    if (existing := local_auth(settings)) is not None:
        return existing
    auth = LocalAuth(folder(settings))
    auth.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    auth.folder.chmod(0o700)
    ca_key, ca_cert = _certificate_authority()
    server_key, server_cert = _server_certificate(ca_key, ca_cert)
    auth.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_secret(auth.server_pem, _pkcs8(server_key) + server_cert.public_bytes(serialization.Encoding.PEM)
                  + ca_cert.public_bytes(serialization.Encoding.PEM))
    for service, user in (("kafka", USER), ("kafka", BROKER_USER), ("cassandra", USER)):
        _write_secret(auth.folder / f"{service}-{user}.password", (secrets.token_urlsafe(24) + "\n").encode())
    # Written last: its presence is what says the folder is complete.
    _write_secret(auth.env_file, "".join(f"{name}={value}\n" for name, value in auth.settings().items()).encode())
    return auth


def _write_secret(path: Path, content: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(content)


def _pkcs8(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificate_authority() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "learning-platform local CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _server_certificate(ca_key: rsa.RSAPrivateKey, ca_cert: x509.Certificate
                        ) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names = [x509.DNSName(n) if n == "localhost" else x509.IPAddress(ipaddress.ip_address(n)) for n in LOOPBACK_NAMES]
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert

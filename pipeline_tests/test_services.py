"""The local-services launcher against the REAL Kafka and Cassandra (no fakes), under the default SERVICES_HOME.

The session fixture in conftest.py owns the final `down()`; these tests leave the services running.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pipeline import services
from pipeline.services import process
from pipeline.services.process import ServiceError, check_ports_free, port_free
from pipeline.settings import get_settings

MAIN_CLASSES = {"kafka": "kafka.Kafka", "cassandra": "org.apache.cassandra.service.CassandraDaemon"}


def _args(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def our_jvms(name: str) -> list[int]:
    """Live processes running the service's main class with a command line that mentions our SERVICES_HOME."""
    home = str(Path(get_settings().services_home).resolve()) + "/"
    return sorted(
        int(proc.name)
        for proc in Path("/proc").iterdir()
        if proc.name.isdigit()
        and MAIN_CLASSES[name] in (args := _args(int(proc.name)))
        and any(home in arg for arg in args)
        and _alive(int(proc.name))
    )


def pid_file_pids() -> dict[str, int | None]:
    return {s.name: s.inspect()[1] for s in services.services()}


@pytest.mark.services
def test_up_twice_starts_one_jvm_per_service_and_both_are_ready():
    first = services.up(progress=print)
    second = services.up(progress=print)

    assert first.all_ready and second.all_ready, f"\n{first}\n{second}"
    assert [s.note for s in second.services if s.name in MAIN_CLASSES] == ["reused", "reused"]
    pids = pid_file_pids()
    for name in MAIN_CLASSES:
        assert our_jvms(name) == [pids[name]], f"{name}: expected exactly the JVM of the pid file"
        assert first[name].pid == second[name].pid == pids[name]

    current = services.status()
    assert current.all_running and current.all_ready, f"\n{current}"
    assert {s.name: s.state for s in current.services if s.name in MAIN_CLASSES} == {"kafka": "running",
                                                                                      "cassandra": "running"}
    assert "kafka" in str(current) and "cassandra" in str(current)


@pytest.mark.services
def test_down_stops_exactly_our_jvms_then_up_again():
    services.up(progress=print)
    before = pid_file_pids()
    assert all(before.values()), before

    services.down(progress=print)

    assert not any(_alive(pid) for pid in before.values()), before
    for name in MAIN_CLASSES:
        assert our_jvms(name) == [], f"{name} JVM still running after down()"
    stopped = services.status()
    assert [s.state for s in stopped.services] == ["stopped", "stopped"], f"\n{stopped}"
    assert not stopped.all_ready

    again = services.up(progress=print)  # later tests still get their services
    assert again.all_ready, f"\n{again}"
    assert all(our_jvms(name) == [pid_file_pids()[name]] for name in MAIN_CLASSES)


def test_port_taken_error_names_the_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert not port_free(port)
        with pytest.raises(ServiceError, match=rf"port {port} \(test listener\)"):
            check_ports_free({port: "test listener"})
    check_ports_free({port: "test listener"})  # free again once closed


def test_java_other_than_17_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setattr(process, "java_major", lambda java: 25)
    with pytest.raises(ServiceError, match=r"Java 17 not found.*Java 25"):
        process.find_java("/opt/some-jdk", progress=print)


def test_status_table_lists_every_service(tmp_path, monkeypatch):
    monkeypatch.setenv("SERVICES_HOME", str(tmp_path))  # nothing runs here: both stopped, nothing probed
    current = services.status()
    assert [(s.name, s.state, s.ready) for s in current.services] == [("kafka", "stopped", False),
                                                                      ("cassandra", "stopped", False)]
    lines = str(current).splitlines()
    assert lines[0].split()[:5] == ["SERVICE", "STATE", "PID", "ENDPOINT", "READY"]
    assert str(tmp_path) in str(current)


def test_a_service_address_off_loopback_is_refused_naming_its_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("SERVICES_HOME", str(tmp_path))
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "10.1.2.3:9092")
    monkeypatch.setenv("CASSANDRA_CONTACT_POINTS", "127.0.0.3")
    kafka, cassandra = services.services()
    with pytest.raises(ServiceError, match=r"KAFKA_BOOTSTRAP_SERVERS names '10\.1\.2\.3': the local services listen "
                                           r"on loopback addresses only"):
        kafka.host
    assert cassandra.host == "127.0.0.3"  # a loopback address other than 127.0.0.1 is fine (a loopback cluster)


def test_up_with_auth_writes_owner_only_credentials_once_and_a_certificate_for_the_loopback_addresses(tmp_path,
                                                                                                     monkeypatch):
    import ssl

    from cryptography import x509

    from pipeline.services import auth

    monkeypatch.setenv("SERVICES_HOME", str(tmp_path))
    created = auth.create(get_settings())
    env = dict(line.split("=", 1) for line in created.env_file.read_text().splitlines())
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL" and env["CASSANDRA_SSL_CA_FILE"] == str(created.ca_file)
    assert len({env["KAFKA_SASL_PASSWORD"], env["CASSANDRA_PASSWORD"], created.password("broker", "kafka")}) == 3
    assert oct(created.folder.stat().st_mode & 0o777) == "0o700"
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in created.folder.iterdir() if p.name != "ca.pem"} == {
        "env": "0o600", "server.pem": "0o600", "kafka-pipeline.password": "0o600",
        "kafka-broker.password": "0o600", "cassandra-pipeline.password": "0o600"}
    assert auth.create(get_settings()).password("pipeline", "kafka") == env["KAFKA_SASL_PASSWORD"]  # kept
    # The chain verifies against the CA, for each address a local service or a loopback node may have.
    certificate = x509.load_pem_x509_certificates(created.server_pem.read_bytes())[0]
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "127.0.0.2", "127.0.0.3"}
    ca = x509.load_pem_x509_certificate(created.ca_file.read_bytes())
    certificate.verify_directly_issued_by(ca)
    ssl.create_default_context(cafile=str(created.ca_file))  # a CA bundle Python's TLS accepts


def test_a_kafka_storage_made_without_authentication_is_not_started_with_it(tmp_path, monkeypatch):
    from pipeline.services import auth

    monkeypatch.setenv("SERVICES_HOME", str(tmp_path))
    auth.create(get_settings())
    kafka = services.services()[0]
    kafka.data_dir.mkdir(parents=True)
    (kafka.data_dir / "meta.properties").write_text("cluster.id=x\n")  # formatted earlier, without SCRAM users
    with pytest.raises(ServiceError, match=r"was made without authentication, so it has no SCRAM users"):
        kafka.prepare("java", [], print)
    assert oct((kafka.conf_dir / "server.properties").stat().st_mode & 0o777) == "0o600"  # holds the broker's password


def test_up_with_cluster_makes_three_nodes_each_with_their_quorum_replication_and_seeds(tmp_path, monkeypatch):
    from pipeline.services import cluster

    monkeypatch.setenv("SERVICES_HOME", str(tmp_path))
    made = cluster.create(get_settings())
    assert made.env_file.read_text().splitlines() == [
        "KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092,127.0.0.2:9092,127.0.0.3:9092", "KAFKA_REPLICATION_FACTOR=3",
        "CASSANDRA_CONTACT_POINTS=127.0.0.1,127.0.0.2,127.0.0.3", "CASSANDRA_REPLICATION=datacenter1:3",
        "CASSANDRA_CONSISTENCY=QUORUM"]
    nodes = services.services()
    assert [(n.name, n.endpoint) for n in nodes] == [
        ("kafka-1", "127.0.0.1:9092"), ("kafka-2", "127.0.0.2:9092"), ("kafka-3", "127.0.0.3:9092"),
        ("cassandra-1", "127.0.0.1:9042"), ("cassandra-2", "127.0.0.2:9042"), ("cassandra-3", "127.0.0.3:9042")]
    assert len({n.home for n in nodes}) == 6
    assert [s.name for s in services.status().services] == [n.name for n in nodes]  # status follows the home

    broker = nodes[1]
    broker.data_dir.mkdir(parents=True)
    (broker.data_dir / "meta.properties").write_text("cluster.id=x\n")  # formatted: only the configuration is made
    broker.prepare("java", [], print)
    config = dict(line.split("=", 1) for line in (broker.conf_dir / "server.properties").read_text().splitlines()
                  if "=" in line and not line.startswith("#"))
    assert config["node.id"] == "2"
    assert config["controller.quorum.voters"] == "1@127.0.0.1:9093,2@127.0.0.2:9093,3@127.0.0.3:9093"
    assert config["listeners"] == "PLAINTEXT://127.0.0.2:9092,CONTROLLER://127.0.0.2:9093"
    assert (config["default.replication.factor"], config["min.insync.replicas"]) == ("3", "2")
    assert (config["offsets.topic.replication.factor"], config["transaction.state.log.min.isr"]) == ("3", "2")
    assert len({n.cluster_id() for n in nodes[:3]}) == 1  # the storage of all three is formatted with one id

    node = nodes[5]
    node.prepare("java", [], print)
    yaml = (node.conf_dir / "cassandra.yaml").read_text()
    assert 'seeds: "127.0.0.1:7000,127.0.0.2:7000,127.0.0.3:7000"' in yaml
    assert "listen_address: 127.0.0.3" in yaml and "rpc_address: 127.0.0.3" in yaml

    with pytest.raises(ServiceError, match="a loopback cluster runs without authentication"):
        services.up(auth=True)
    assert not (tmp_path / "auth").exists()


def test_a_cluster_of_other_than_three_named_addresses_is_refused_naming_the_settings(tmp_path, monkeypatch):
    from pipeline.services import cluster

    monkeypatch.setenv("SERVICES_HOME", str(tmp_path))
    monkeypatch.setenv("CASSANDRA_CONTACT_POINTS", "127.0.0.4,127.0.0.5")
    with pytest.raises(ServiceError, match="KAFKA_BOOTSTRAP_SERVERS names 1 and CASSANDRA_CONTACT_POINTS 2"):
        cluster.create(get_settings())
    monkeypatch.setenv("CASSANDRA_CONTACT_POINTS", "127.0.0.4,127.0.0.5,127.0.0.6")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.4:9092,127.0.0.5:9092,127.0.0.6:9092")
    assert cluster.create(get_settings()).settings()["CASSANDRA_CONTACT_POINTS"] == "127.0.0.4,127.0.0.5,127.0.0.6"

# One image for the three Dagster containers of docker-compose.yml (code server, webserver, daemon).
# Python 3.11 on Debian bookworm, whose openjdk-17-jre-headless is the Java that PySpark 4 runs on.
FROM python:3.11-slim-bookworm

ARG DAGSTER_POSTGRES_VERSION=0.29.27

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DAGSTER_HOME=/opt/dagster/home \
    DATA_CACHE_DIR=/opt/dagster/app/.cache \
    JAVA_HOME=/opt/java

# Java for Spark (procps: Spark's scripts call `ps`; Maven resolves the S3A connector's jars at build time,
# below). /opt/java is an architecture-independent JAVA_HOME (the JVM directory is named after the
# architecture, e.g. java-17-openjdk-amd64).
RUN set -eux; \
    mkdir -p /usr/share/man/man1; \
    apt-get update; \
    apt-get install -y --no-install-recommends openjdk-17-jre-headless procps maven; \
    rm -rf /var/lib/apt/lists/*; \
    ln -s "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" /opt/java; \
    /opt/java/bin/java -version

WORKDIR /opt/dagster/app

# Dependencies first, in their own layer, so editing the project's code does not reinstall PySpark, at the
# versions of constraints.txt (`make lock`). dagster-postgres is only needed here: deploy/dagster.yaml keeps
# the instance in Postgres.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -c constraints.txt -r /tmp/requirements.txt "dagster-postgres==${DAGSTER_POSTGRES_VERSION}" \
 && rm /tmp/requirements.txt

# The project itself (the packages named in [tool.hatch.build.targets.wheel]).
COPY README.md ./
COPY pipeline ./pipeline
COPY assets ./assets
COPY resources ./resources
COPY sensors ./sensors
# MovieLens 100k into $DATA_CACHE_DIR/ml-100k, as `make movielens` does (extracted from the recbole wheel).
RUN pip install --no-deps . \
 && python -c "import pipeline.settings" \
 && pipeline fetch movielens

# An unprivileged user; $DAGSTER_HOME/storage exists in the image so that the named volume mounted
# there starts out owned by this user.
RUN useradd --create-home --uid 10001 dagster \
 && mkdir -p "$DAGSTER_HOME/storage" \
 && chown -R dagster:dagster /opt/dagster
USER dagster

# The S3A connector (~13 MB, pipeline/s3a.py) into the image's ~/.m2: the lake is on MinIO, and a container
# must not download jars when it starts.
RUN python -c "from pipeline import s3a; s3a.jars()"

EXPOSE 3000 4000 8000

# docker-compose.yml overrides this for the webserver and the daemon.
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "pipeline.definitions", "--location-name", "learning_platform"]

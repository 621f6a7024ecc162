# syntax=docker/dockerfile:1
# The portal (`serve`, the default) and the ECS worker (`worker run --customer X`) in one image.
# The builder installs exactly the pins the Lambda zips use (src/changecast/packaging/requirements/,
# derived from uv.lock; server.txt includes portal.txt, which includes worker.txt), with the same
# pip flags as `changecast package lambda`: wheels only, no dependency resolution, every hash
# checked. Docker cannot build on the project's development machines; see README "Containers".

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/changecast
WORKDIR /build
COPY src/changecast/packaging/requirements/ requirements/
RUN /opt/changecast/bin/pip install --no-cache-dir --no-deps --require-hashes \
        --only-binary=:all: --requirement requirements/server.txt
COPY pyproject.toml README.md ./
COPY src/ src/
# The project itself (pure Python; its dependencies are all installed above).
RUN /opt/changecast/bin/pip install --no-cache-dir --no-deps . \
    && /opt/changecast/bin/pip check \
    && /opt/changecast/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('moto') is not None)"

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/changecast/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    CHANGECAST_MODE=aws
RUN groupadd --system --gid 10001 changecast \
    && useradd --system --uid 10001 --gid changecast --no-create-home --shell /usr/sbin/nologin changecast
COPY --from=builder /opt/changecast /opt/changecast
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"]
ENTRYPOINT ["changecast"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

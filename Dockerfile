# The Cartwright image: the worker, the sandboxes and the CLI (docker-compose.yml runs it).
# The sandboxes need the `sandbox` extra; an image for the worker alone would install `.` only.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY connectors connectors
COPY streams streams
COPY sandbox sandbox
RUN pip install --no-cache-dir '.[sandbox]'
ENTRYPOINT ["cartwright"]
CMD ["worker"]

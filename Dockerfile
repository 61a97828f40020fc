# The facesort image: the official Apache Airflow image plus ffmpeg, dlib and facesort.
#
#   docker compose build            (docker-compose.yaml builds it as facesort-airflow)
#
# It starts FROM the slim variant of the official image (Airflow core only) and installs
# exactly the packages facesort is tested with: requirements.txt (Airflow, the Celery and
# PostgreSQL providers, the dlib-bin wheel, ...) under constraints.txt, the pin of every
# package of a tested install. The regular image's extra providers would drag versions
# into the install that were never tested with facesort.
ARG AIRFLOW_IMAGE=apache/airflow:slim-3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}

USER root
# ffmpeg/ffprobe sample video frames; socat relays an Immich on another Docker network
# (compose profile "immich"); curl serves the health checks.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg socat curl \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /opt/facesort /opt/airflow/auth \
 && chown -R airflow:0 /opt/facesort /opt/airflow/auth \
 && chmod -R g+rwX /opt/facesort /opt/airflow/auth
USER airflow

# Dependencies first, so that changing facesort's code does not reinstall them.
# face_recognition comes without its dependencies: its metadata asks for the dlib source
# distribution (a long C++ build); requirements.txt brings the dlib-bin wheel instead.
COPY --chown=airflow:0 requirements.txt requirements-nodeps.txt constraints.txt /opt/facesort/
RUN pip install --no-cache-dir -r /opt/facesort/requirements.txt -c /opt/facesort/constraints.txt \
 && pip install --no-cache-dir --no-deps -r /opt/facesort/requirements-nodeps.txt

COPY --chown=airflow:0 pyproject.toml README.md /opt/facesort/src/
COPY --chown=airflow:0 include /opt/facesort/src/include
RUN pip install --no-cache-dir --no-deps --no-build-isolation /opt/facesort/src \
 && python -c "import facesort.sorting.run, face_recognition_models, dlib"

COPY --chown=airflow:0 dags /opt/airflow/dags
# The review page: an Airflow plugin served by the api-server.
COPY --chown=airflow:0 plugins /opt/airflow/plugins
COPY --chown=airflow:0 deploy/facesort.yaml /opt/facesort/facesort.yaml
ENV FACESORT_CONFIG=/opt/facesort/facesort.yaml

# syntax=docker/dockerfile:1
# Keycloak 26.7.3 with the otp-sidecar authenticator built in, optimized
# (`kc.sh build`) so `start --optimized` boots without a build step.
# Build from the repository root:
#   docker build -f deploy/docker/keycloak.Dockerfile -t keycloak-otp:26.7.3-otp0.1.0 .

FROM maven:3.9.9-eclipse-temurin-21 AS provider
WORKDIR /src
COPY keycloak-flow/pom.xml keycloak-flow/pom.xml
RUN mvn -B -q -f keycloak-flow/pom.xml dependency:go-offline
COPY keycloak-flow keycloak-flow
RUN mvn -B -q -f keycloak-flow/pom.xml -DskipTests package \
    && mkdir -p /out \
    && cp keycloak-flow/target/otp-sidecar-keycloak-*.jar /out/otp-sidecar-keycloak.jar

FROM quay.io/keycloak/keycloak:26.7.3 AS builder
# Build-time options: fixed in the optimized image, so `start --optimized`
# needs no rebuild. Runtime options (hostname, database URL, credentials)
# stay in the environment of the Deployment.
ENV KC_DB=postgres \
    KC_HEALTH_ENABLED=true \
    KC_METRICS_ENABLED=true
COPY --from=provider --chown=1000:0 /out/otp-sidecar-keycloak.jar /opt/keycloak/providers/
RUN /opt/keycloak/bin/kc.sh build

FROM quay.io/keycloak/keycloak:26.7.3
COPY --from=builder /opt/keycloak/ /opt/keycloak/
USER 1000
EXPOSE 8080 9000
ENTRYPOINT ["/opt/keycloak/bin/kc.sh"]
CMD ["start", "--optimized"]

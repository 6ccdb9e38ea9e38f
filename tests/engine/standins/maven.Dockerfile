# A stand-in for maven:3-eclipse-temurin-17 made from Debian's packages: OpenJDK 17 and Maven,
# with the Maven plugins Debian packages in /usr/share/maven-repo. Maven runs offline from that
# repository (global settings), so a pom must pin the plugin versions Debian ships:
# resources 3.3.0, compiler 3.10.1, surefire 2.22.3, jar 3.3.0, install 3.1.0, clean 3.2.0,
# dependency 3.5.0, site 3.12.1, deploy 3.0.0 (`mvn dependency:go-offline` resolves the
# plugins of every lifecycle: a Maven that reaches Maven Central downloads them).
ARG BASE
FROM ${BASE} AS packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      openjdk-17-jdk-headless maven libmaven-compiler-plugin-java libmaven-jar-plugin-java \
      libmaven-resources-plugin-java libsurefire-java libmaven-install-plugin-java \
      libmaven-clean-plugin-java libmaven-dependency-plugin-java libmaven-site-plugin-java \
      libmaven-deploy-plugin-java \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man \
 && printf '<settings><localRepository>/usr/share/maven-repo</localRepository><offline>true</offline></settings>\n' \
      > /etc/maven/settings.xml

# / gets mode 0755 on a fresh root (the engine's debootstrap base has / at 0700, which locks
# out every non-root user, and a layer cannot change the mode of /).
FROM scratch
COPY --from=packages / /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 MAVEN_HOME=/usr/share/maven

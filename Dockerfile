# One image per host, from one file: docker build --build-arg PROJECT=Tasks.Worker .
# The dashboard's browser libraries (Tasks.Web/package.json), installed where npm is; the build copies them to wwwroot/lib.
FROM node:22-bookworm-slim AS npm
WORKDIR /src/Tasks.Web
COPY Tasks.Web/package.json Tasks.Web/package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG PROJECT=Tasks.Web
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY Tasks.Contracts/Tasks.Contracts.csproj Tasks.Contracts/
COPY Tasks.Core/Tasks.Core.csproj Tasks.Core/
COPY ${PROJECT}/${PROJECT}.csproj ${PROJECT}/
RUN dotnet restore ${PROJECT}/${PROJECT}.csproj
COPY Tasks.Contracts/ Tasks.Contracts/
COPY Tasks.Core/ Tasks.Core/
COPY ${PROJECT}/ ${PROJECT}/
COPY --from=npm /src/Tasks.Web/node_modules Tasks.Web/node_modules
RUN dotnet publish ${PROJECT}/${PROJECT}.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
ARG PROJECT=Tasks.Web
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app .
ENV PROJECT_DLL=${PROJECT}.dll
USER app
ENTRYPOINT ["sh", "-c", "exec dotnet \"$PROJECT_DLL\" \"$@\"", "--"]

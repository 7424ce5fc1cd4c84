metadata description = 'pgask on Azure: Azure Database for PostgreSQL Flexible Server (PostgreSQL 18, pgvector) and the pgask image on Azure Container Apps. `azd up` deploys it; docs/hosting-azure.md maps each parameter to the consideration it answers.'

targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name: names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Region of every resource (data residency: the data and its backups stay in this region unless geo-redundant backup or a replica elsewhere is chosen).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('The user running azd (AZURE_PRINCIPAL_ID): may read and write the Key Vault secrets.')
param principalId string = ''

@allowed(['User', 'ServicePrincipal'])
param principalType string = 'User'

// --- PostgreSQL ----------------------------------------------------------------------------

@description('Compute size of the server (docs/sizing.md: the HNSW index should fit in memory).')
param postgresSkuName string = 'Standard_B1ms'

@description('Compute tier: Burstable for trying it; GeneralPurpose or MemoryOptimized for high availability and read replicas.')
@allowed(['Burstable', 'GeneralPurpose', 'MemoryOptimized'])
param postgresSkuTier string = 'Burstable'

@description('Provisioned storage in GiB.')
@allowed([32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767])
param postgresStorageSizeGB int = 32

@description('Grow storage by itself before it fills up.')
param postgresStorageAutoGrow bool = true

@description('Zone-redundant high availability: a synchronous standby in another zone, automatic failover (not on Burstable).')
param postgresZoneRedundantHa bool = false

@minValue(7)
@maxValue(35)
@description('Days of automated backups kept for point-in-time restore.')
param postgresBackupRetentionDays int = 7

@description('Copy the backups to the paired region (geo-restore); set at creation only.')
param postgresGeoRedundantBackup bool = false

@description('A read replica; pgask sends its reads there through DATABASE_READ_URLS (not on Burstable).')
param postgresReadReplica bool = false

@description('Region of the read replica; empty = the primary\'s region.')
param postgresReplicaLocation string = ''

@description('The server administrator: it runs the migrations (`pgask db upgrade`, which `pgask serve` runs at start).')
param postgresAdminLogin string = 'pgaskadmin'

@secure()
@description('The administrator\'s password: main.parameters.json makes one (azd secretOrRandomPassword) and reads it back from Key Vault on later runs.')
param postgresAdminPassword string

@description('Client addresses allowed through the server firewall, e.g. yours for the SQL tools or `pgask db upgrade` from the Dev Container.')
param postgresAllowedIpAddresses array = []

// --- pgask ---------------------------------------------------------------------------------

@secure()
@minLength(16)
@description('The bootstrap admin API key (PGASK_API_KEYS = admin:KEY). The API is public, so a key is required.')
param pgaskAdminKey string

@description('A pgask image to run instead of the one azd builds from the Dockerfile (e.g. myregistry.azurecr.io/pgask:1.0).')
param pgaskImage string = ''

@description('Set by azd (SERVICE_API_RESOURCE_EXISTS): the API app exists, so keep its current image.')
param apiExists bool = false

@minValue(1)
param apiMinReplicas int = 1

@minValue(1)
param apiMaxReplicas int = 3

param apiCpu string = '1.0'
param apiMemory string = '2Gi'

@description('A separate container app running `pgask worker` for ingestion jobs; the API then runs none itself.')
param deployWorker bool = false

@minValue(1)
param workerReplicas int = 1

param workerCpu string = '1.0'
param workerMemory string = '2Gi'

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var databaseName = 'pgask'
var apiName = 'ca-api-${resourceToken}'
var workerName = 'ca-worker-${resourceToken}'
// Until azd deploys the built image, the app runs a placeholder (azd's usual first step).
var placeholderImage = 'mcr.microsoft.com/azuredocs/containerapps-helloworld:latest'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

resource existingApi 'Microsoft.App/containerApps@2024-03-01' existing = if (apiExists) {
  scope: rg
  name: apiName
}

var existingApiImage = apiExists ? existingApi!.properties.template.containers[0].image : placeholderImage
var apiImage = empty(pgaskImage) ? existingApiImage : pgaskImage

module identity 'core/security/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module postgres 'core/database/postgresql-flexible.bicep' = {
  name: 'postgres'
  scope: rg
  params: {
    name: 'psql-${resourceToken}'
    location: location
    tags: tags
    skuName: postgresSkuName
    skuTier: postgresSkuTier
    storageSizeGB: postgresStorageSizeGB
    storageAutoGrow: postgresStorageAutoGrow
    zoneRedundantHa: postgresZoneRedundantHa
    backupRetentionDays: postgresBackupRetentionDays
    geoRedundantBackup: postgresGeoRedundantBackup
    readReplica: postgresReadReplica
    replicaLocation: postgresReplicaLocation
    administratorLogin: postgresAdminLogin
    administratorLoginPassword: postgresAdminPassword
    databaseName: databaseName
    allowAzureServices: true
    allowedIpAddresses: postgresAllowedIpAddresses
  }
}

var credentials = '${postgresAdminLogin}:${uriComponent(postgresAdminPassword)}'
var databaseUrl = 'postgresql://${credentials}@${postgres.outputs.host}:5432/${databaseName}?sslmode=require'
var databaseReadUrls = 'postgresql://${credentials}@${postgres.outputs.replicaHost}:5432/${databaseName}?sslmode=require'

var baseSecrets = {
  // The name main.parameters.json reads the password back by.
  postgresAdminPassword: postgresAdminPassword
  'database-url': databaseUrl
  'pgask-api-keys': 'admin:${pgaskAdminKey}'
}
var replicaSecrets = postgresReadReplica ? { 'database-read-urls': databaseReadUrls } : {}

module keyVault 'core/security/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    readerPrincipalId: identity.outputs.principalId
    ownerPrincipalId: principalId
    ownerPrincipalType: principalType
    secrets: union(baseSecrets, replicaSecrets)
  }
}

module logs 'core/monitor/loganalytics.bicep' = {
  name: 'loganalytics'
  scope: rg
  params: {
    name: 'log-${resourceToken}'
    location: location
    tags: tags
  }
}

module registry 'core/host/container-registry.bicep' = {
  name: 'registry'
  scope: rg
  params: {
    name: 'cr${resourceToken}'
    location: location
    tags: tags
    pullPrincipalId: identity.outputs.principalId
  }
}

module environment 'core/host/container-apps-environment.bicep' = {
  name: 'container-apps-environment'
  scope: rg
  params: {
    name: 'cae-${resourceToken}'
    location: location
    tags: tags
    logAnalyticsWorkspaceName: logs.outputs.name
  }
}

// Container Apps secrets that are Key Vault references, read with the apps' identity.
var baseVaultSecrets = {
  'database-url': '${keyVault.outputs.uri}secrets/database-url'
  'pgask-api-keys': '${keyVault.outputs.uri}secrets/pgask-api-keys'
}
var replicaVaultSecrets = postgresReadReplica ? { 'database-read-urls': '${keyVault.outputs.uri}secrets/database-read-urls' } : {}
var vaultSecrets = union(baseVaultSecrets, replicaVaultSecrets)

var readUrlsEnv = postgresReadReplica ? [{ name: 'DATABASE_READ_URLS', secretRef: 'database-read-urls' }] : []

var baseApiEnv = [
  { name: 'DATABASE_URL', secretRef: 'database-url' }
  { name: 'PGASK_API_KEYS', secretRef: 'pgask-api-keys' }
  { name: 'PGASK_HOST', value: '0.0.0.0' }
  { name: 'PGASK_PORT', value: '8000' }
  { name: 'PGASK_LOG_FORMAT', value: 'json' }
  // With a worker app, the API replicas leave ingestion jobs to it.
  { name: 'PGASK_INGEST_WORKER', value: deployWorker ? '0' : '1' }
]
var apiEnv = concat(baseApiEnv, readUrlsEnv)

// The worker never migrates: the API does at start (`pgask serve`), as the server admin.
var workerEnv = [
  { name: 'DATABASE_URL', secretRef: 'database-url' }
  { name: 'PGASK_AUTO_MIGRATE', value: '0' }
  { name: 'PGASK_LOG_FORMAT', value: 'json' }
]

module api 'app/pgask.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: apiName
    location: location
    tags: tags
    azdServiceName: 'api'
    environmentId: environment.outputs.id
    environmentDefaultDomain: environment.outputs.defaultDomain
    identityId: identity.outputs.id
    registryServer: registry.outputs.loginServer
    image: apiImage
    http: true
    targetPort: 8000
    env: apiEnv
    keyVaultSecrets: vaultSecrets
    minReplicas: apiMinReplicas
    maxReplicas: apiMaxReplicas
    cpu: apiCpu
    memory: apiMemory
  }
  dependsOn: [keyVault, registry]
}

module worker 'app/pgask.bicep' = if (deployWorker) {
  name: 'worker'
  scope: rg
  params: {
    name: workerName
    location: location
    tags: tags
    environmentId: environment.outputs.id
    environmentDefaultDomain: environment.outputs.defaultDomain
    identityId: identity.outputs.id
    registryServer: registry.outputs.loginServer
    image: apiImage
    command: ['pgask', 'worker']
    http: false
    env: workerEnv
    keyVaultSecrets: { 'database-url': '${keyVault.outputs.uri}secrets/database-url' }
    minReplicas: workerReplicas
    maxReplicas: workerReplicas
    cpu: workerCpu
    memory: workerMemory
  }
  dependsOn: [keyVault, registry]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_REGISTRY_NAME string = registry.outputs.name
output AZURE_CONTAINER_ENVIRONMENT_NAME string = environment.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
@description('The app\'s URL: the web page at /, the API under /v1, its OpenAPI page at /docs.')
output PGASK_URL string = api.outputs.uri
output PGASK_WORKER_APP_NAME string = deployWorker ? workerName : ''
output POSTGRES_HOST string = postgres.outputs.host
output POSTGRES_REPLICA_HOST string = postgres.outputs.replicaHost
output POSTGRES_DATABASE string = databaseName
output POSTGRES_ADMIN_LOGIN string = postgresAdminLogin

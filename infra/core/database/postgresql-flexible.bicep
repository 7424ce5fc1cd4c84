metadata description = 'Azure Database for PostgreSQL Flexible Server for pgask: PostgreSQL 18 with pgvector allow-listed, its database, firewall rules and an optional read replica.'

param name string
param location string = resourceGroup().location
param tags object = {}

@description('Compute size, e.g. Standard_B1ms (Burstable), Standard_D2ds_v5 (GeneralPurpose), Standard_E2ds_v5 (MemoryOptimized).')
param skuName string

@allowed(['Burstable', 'GeneralPurpose', 'MemoryOptimized'])
param skuTier string

@description('Provisioned storage in GiB (a size the service offers).')
@allowed([32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32767])
param storageSizeGB int

@description('Grow storage by itself before it fills up.')
param storageAutoGrow bool = true

@description('A standby in another availability zone with automatic failover (not on Burstable).')
param zoneRedundantHa bool = false

@minValue(7)
@maxValue(35)
param backupRetentionDays int = 7

@description('Keep the backups in the paired region too (chosen at creation, cannot be changed later).')
param geoRedundantBackup bool = false

@description('A read replica (asynchronous streaming replication; not on Burstable).')
param readReplica bool = false

@description('Region of the read replica: empty = the primary\'s region.')
param replicaLocation string = ''

param administratorLogin string

@secure()
param administratorLoginPassword string

param databaseName string = 'pgask'

@description('Let services running in Azure (the Container Apps) reach the server: the 0.0.0.0 rule.')
param allowAzureServices bool = true

@description('Single client addresses allowed through the firewall, e.g. yours to run `pgask db upgrade` or the SQL tools.')
param allowedIpAddresses array = []

// The PostgreSQL major version pgask needs (it refuses older servers before migrating).
// API version 2025-08-01 is the first GA version whose `version` enum lists '18'.
var postgresVersion = '18'

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2025-08-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  properties: {
    version: postgresVersion
    administratorLogin: administratorLogin
    administratorLoginPassword: administratorLoginPassword
    authConfig: {
      passwordAuth: 'Enabled'
      activeDirectoryAuth: 'Disabled'
    }
    storage: {
      storageSizeGB: storageSizeGB
      autoGrow: storageAutoGrow ? 'Enabled' : 'Disabled'
    }
    backup: {
      backupRetentionDays: backupRetentionDays
      geoRedundantBackup: geoRedundantBackup ? 'Enabled' : 'Disabled'
    }
    highAvailability: {
      mode: zoneRedundantHa ? 'ZoneRedundant' : 'Disabled'
    }
    network: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

// pgvector: the `vector` extension must be allow-listed before `CREATE EXTENSION vector`
// (migration 0001) may run.
resource extensions 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2025-08-01' = {
  parent: server
  name: 'azure.extensions'
  properties: {
    value: 'VECTOR'
    source: 'user-override'
  }
}

// Connections without TLS are refused (the default on Flexible Server; stated so it stays).
resource requireTls 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2025-08-01' = {
  parent: server
  name: 'require_secure_transport'
  properties: {
    value: 'on'
    source: 'user-override'
  }
  dependsOn: [extensions] // one configuration change at a time
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2025-08-01' = {
  parent: server
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
  dependsOn: [requireTls]
}

resource allowAzure 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2025-08-01' = if (allowAzureServices) {
  parent: server
  name: 'allow-azure-services'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
  dependsOn: [database]
}

@batchSize(1)
resource allowClient 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2025-08-01' = [for ip in allowedIpAddresses: {
  parent: server
  name: 'allow-${replace(ip, '.', '-')}'
  properties: {
    startIpAddress: ip
    endIpAddress: ip
  }
  dependsOn: [database, allowAzure]
}]

// A read replica: a streaming-replication standby that the service keeps in recovery. pgask
// reads from it through DATABASE_READ_URLS (searches, answers, read-only GETs) and writes to
// the primary. Its firewall rules are its own.
resource replica 'Microsoft.DBforPostgreSQL/flexibleServers@2025-08-01' = if (readReplica) {
  name: '${name}-replica'
  location: empty(replicaLocation) ? location : replicaLocation
  tags: tags
  sku: {
    name: skuName
    tier: skuTier
  }
  properties: {
    createMode: 'Replica'
    sourceServerResourceId: server.id
    storage: {
      storageSizeGB: storageSizeGB
      autoGrow: storageAutoGrow ? 'Enabled' : 'Disabled'
    }
    network: {
      publicNetworkAccess: 'Enabled'
    }
  }
  dependsOn: [database, allowAzure, allowClient]
}

resource replicaAllowAzure 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2025-08-01' = if (readReplica && allowAzureServices) {
  parent: replica
  name: 'allow-azure-services'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

output name string = server.name
output host string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
output replicaHost string = readReplica ? replica!.properties.fullyQualifiedDomainName : ''

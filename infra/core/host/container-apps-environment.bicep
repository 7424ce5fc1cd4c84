metadata description = 'Container Apps environment (Consumption), logging to Log Analytics.'

param name string
param location string = resourceGroup().location
param tags object = {}
param logAnalyticsWorkspaceName string

@description('Spread the environment\'s replicas over availability zones (needs a virtual network; off here).')
param zoneRedundant bool = false

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: logAnalyticsWorkspaceName
}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
    zoneRedundant: zoneRedundant
  }
}

output name string = environment.name
output id string = environment.id
output defaultDomain string = environment.properties.defaultDomain

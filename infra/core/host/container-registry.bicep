metadata description = 'Container registry that azd pushes the pgask image to (a remote build from the Dockerfile); the apps pull it with their managed identity.'

param name string
param location string = resourceGroup().location
param tags object = {}

@description('Principal id allowed to pull images (the apps\' managed identity).')
param pullPrincipalId string

var acrPullRole = '7f951dda-4ed3-4680-a7ca-43fe172d538d' // AcrPull

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' = {
  // checkov:skip=CKV_AZURE_139: azd pushes (or builds remotely) from the developer's machine; a private registry needs the Premium SKU and a virtual network
  // checkov:skip=CKV_AZURE_163: image scanning is Microsoft Defender for Containers, a subscription-wide paid plan this template does not turn on
  // checkov:skip=CKV_AZURE_166: quarantine needs the Premium SKU
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

resource pull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: registry
  name: guid(registry.id, pullPrincipalId, acrPullRole)
  properties: {
    principalId: pullPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPullRole)
  }
}

output name string = registry.name
output loginServer string = registry.properties.loginServer
output pullRoleAssignmentId string = pull.id

metadata description = 'Key Vault holding pgask\'s connection strings and keys. Access is by Azure RBAC: the apps\' managed identity reads secrets, the deploying user manages them.'

param name string
param location string = resourceGroup().location
param tags object = {}

@description('Principal id of the apps\' user-assigned managed identity: may read secrets.')
param readerPrincipalId string

@description('Principal id of the user running azd (AZURE_PRINCIPAL_ID): may read and write secrets. Empty skips it.')
param ownerPrincipalId string = ''

@allowed(['User', 'ServicePrincipal'])
param ownerPrincipalType string = 'User'

@description('Secrets to store, name -> value.')
@secure()
param secrets object

var secretsUserRole = '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User
var secretsOfficerRole = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7' // Key Vault Secrets Officer

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: without a virtual network the Container Apps have no fixed outbound addresses to allow, and azd reads the generated password back from the developer's machine (docs/hosting-azure.md: private networking, not done)
  // checkov:skip=CKV_AZURE_189: as above: public access is needed without private endpoints
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // The Container Apps environment has no fixed addresses without a virtual network, and
      // azd reads the generated passwords back from the developer's machine.
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource stored 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for secret in items(secrets): {
  // checkov:skip=CKV_AZURE_41: a connection string or API key has no natural expiry; an expired secret would stop the apps at their next restart (rotation: docs/hosting-azure.md)
  parent: vault
  name: secret.key
  properties: {
    value: secret.value
    contentType: 'text/plain'
  }
}]

resource readerRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, readerPrincipalId, secretsUserRole)
  properties: {
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRole)
  }
}

resource ownerRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(ownerPrincipalId)) {
  scope: vault
  name: guid(vault.id, ownerPrincipalId, secretsOfficerRole)
  properties: {
    principalId: ownerPrincipalId
    principalType: ownerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsOfficerRole)
  }
}

output name string = vault.name
output uri string = vault.properties.vaultUri
// Depending on this output makes a reader wait for its role assignment.
output readerRoleAssignmentId string = readerRole.id

metadata description = 'One pgask container app: the HTTP API (`pgask serve`, ingress and health probes) or the ingest worker (`pgask worker`, no ingress).'

param name string
param location string = resourceGroup().location
param tags object = {}

@description('azd service name: azd deploy finds the app by this tag. Empty = not an azd service.')
param azdServiceName string = ''

param environmentId string

@description('The environment\'s default domain: an app with external ingress is https://NAME.DOMAIN.')
param environmentDefaultDomain string
param identityId string
param registryServer string
param image string

@description('Command and arguments; empty = the image\'s CMD (`pgask serve`).')
param command array = []

@description('Serve HTTP on targetPort behind HTTPS ingress, probed on /healthz and /readyz.')
param http bool = true
param targetPort int = 8000

@description('Environment variables: {name, value} or {name, secretRef}.')
param env array = []

@description('Key Vault secrets the app reads with its identity: name -> secret URI.')
param keyVaultSecrets object = {}

@minValue(0)
param minReplicas int = 1
@minValue(1)
param maxReplicas int = 3

@description('CPU cores per replica (Consumption pairs: 0.5/1Gi, 1.0/2Gi, 2.0/4Gi ...).')
param cpu string = '1.0'
param memory string = '2Gi'

// /healthz answers as soon as the process is up; /readyz only once the database is reachable,
// migrated and the embedding model is loaded (503 with the reason otherwise). The start-up
// probe gives the first model load time before liveness counts.
var probes = [
  {
    type: 'Startup'
    httpGet: { path: '/healthz', port: targetPort }
    initialDelaySeconds: 5
    periodSeconds: 10
    failureThreshold: 10
    timeoutSeconds: 5
  }
  {
    type: 'Liveness'
    httpGet: { path: '/healthz', port: targetPort }
    periodSeconds: 15
    failureThreshold: 3
    timeoutSeconds: 5
  }
  {
    type: 'Readiness'
    httpGet: { path: '/readyz', port: targetPort }
    periodSeconds: 10
    failureThreshold: 3
    timeoutSeconds: 5
  }
]

resource app 'Microsoft.App/containerApps@2024-03-01' = {
  name: name
  location: location
  tags: union(tags, empty(azdServiceName) ? {} : { 'azd-service-name': azdServiceName })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    managedEnvironmentId: environmentId
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: http ? {
        external: true
        targetPort: targetPort
        transport: 'auto'
        allowInsecure: false
      } : null
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
      secrets: [for secret in items(keyVaultSecrets): {
        name: secret.key
        keyVaultUrl: secret.value
        identity: identityId
      }]
    }
    template: {
      containers: [
        {
          name: 'pgask'
          image: image
          command: command
          env: env
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          probes: http ? probes : []
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
      }
    }
  }
}

output name string = app.name
output uri string = http ? 'https://${app.name}.${environmentDefaultDomain}' : ''
output image string = image

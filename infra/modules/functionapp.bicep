// Linux Flex Consumption function app running the Registrar custom handler (the packaged dist/ folder:
// host.json, the function folders and the `handler` binary), with identity-based app settings only and
// App Service Authentication (Easy Auth, Microsoft Entra ID) in front of the HTTP Admin function.
param name string
param planName string
param location string
param tags object
@description('Resource ID of the user-assigned identity used for every connection.')
param identityId string
param identityClientId string
param storageAccountName string
param blobEndpoint string
param deploymentContainerName string
param tableEndpoint string
@description('Service Bus fully qualified namespace.')
param serviceBusHost string
param appInsightsConnectionString string
param registrationRequestsQueue string
param machineEventsQueue string
param eventsTopic string
@description('Client ID of the Entra app registration whose tokens Easy Auth accepts.')
param authClientId string
param authTenantId string
param maximumInstanceCount int = 40
param instanceMemoryMB int = 2048

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

// On Flex Consumption the worker runtime is set by functionAppConfig.runtime (name 'custom'),
// which stands for FUNCTIONS_WORKER_RUNTIME=custom; the platform refuses that app setting.
resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'registrar' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      runtime: { name: 'custom', version: '1.0' }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        // Host storage, identity-based.
        { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        // Registrar tables.
        { name: 'RegistrarStorage__tableServiceUri', value: tableEndpoint }
        { name: 'RegistrarStorage__clientId', value: identityClientId }
        // Service Bus: triggers (host) and the event publisher / dead-letter tools (handler).
        { name: 'ServiceBusConnection__fullyQualifiedNamespace', value: serviceBusHost }
        { name: 'ServiceBusConnection__credential', value: 'managedidentity' }
        { name: 'ServiceBusConnection__clientId', value: identityClientId }
        { name: 'RegistrationRequestsQueue', value: registrationRequestsQueue }
        { name: 'MachineEventsQueue', value: machineEventsQueue }
        { name: 'EventsTopic', value: eventsTopic }
        // Telemetry with Entra auth (the component has local auth disabled).
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
      ]
    }
  }
}

// Easy Auth: every request needs a Microsoft Entra token for the app registration; the platform then
// passes X-MS-CLIENT-PRINCIPAL and sets WEBSITE_AUTH_ENABLED=True, which the handler requires. The one
// exception is the availability probe /api/v1/healthz (no principal, no fleet data; docs/admin-api.md).
resource auth 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: { enabled: true }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: ['/api/v1/healthz']
    }
    httpSettings: { requireHttps: true }
    login: { tokenStore: { enabled: false } }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
        }
        validation: {
          allowedAudiences: [authClientId, 'api://${authClientId}']
        }
      }
    }
  }
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'

// Registrar on Azure: a Flex Consumption Function App running the Go custom handler, with
// identity-based connections only (no keys, no connection strings) to Table Storage, Service Bus
// and Application Insights, and Easy Auth (Microsoft Entra ID) in front of the Admin API.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; used to name the resource group and derive resource names.')
param environmentName string

@minLength(1)
@description('Azure region for every resource (must offer Flex Consumption).')
param location string

@description('Resource group name; default rg-<environmentName>.')
param resourceGroupName string = ''

@description('Function app name; default derived from the environment.')
param functionAppName string = ''

@description('Storage account name (3-24 lower-case letters and digits); default derived.')
param storageAccountName string = ''

@description('Service Bus namespace name; default derived.')
param serviceBusNamespaceName string = ''

@description('Client (application) ID of an existing Entra app registration for Easy Auth (azd env set REGISTRAR_AUTH_CLIENT_ID). Empty: the deployment creates it, with its app roles, through the Microsoft Graph Bicep extension.')
param authClientId string = ''

@description('Entra tenant ID of that app registration; empty means the deployment tenant.')
param authTenantId string = ''

@description('Give the deploying user the Registrar.Admin app role (when the deployment creates the app registration) and the Service Bus Data Sender role on registration-requests.')
param grantDeployer bool = true

@description('Name of the example sessions-enabled subscription on the events topic.')
param eventsSubscriptionName string = 'notifications'

@description('E-mail address the alert rules notify (azd env set ALERT_EMAIL); empty: alerts show in the portal only.')
param alertEmail string = ''

var token = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }

// Names the app reads from settings; function.json refers to the queues as %RegistrationRequestsQueue% etc.
var registrationRequestsQueue = 'registration-requests'
var machineEventsQueue = 'machine-events'
var eventsTopic = 'registration-events'

// The app registration Easy Auth validates, unless one is given: created first (the function app's
// Easy Auth needs its client ID), completed after the function app (see modules/entra-app.bicep).
var createAuthApp = empty(authClientId)
var authAppName = 'registrar-${token}'
var deployerId = grantDeployer ? deployer().objectId : ''

module authApp 'modules/entra-app.bicep' = if (createAuthApp) {
  name: 'entra-app'
  scope: rg
  params: {
    uniqueName: authAppName
    displayName: 'Registrar Admin API (${environmentName})'
    adminPrincipalId: deployerId
  }
}

var effectiveClientId = createAuthApp ? authApp!.outputs.clientId : authClientId

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-registrar-${token}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    workspaceName: 'log-registrar-${token}'
    appInsightsName: 'appi-registrar-${token}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    serviceBusNamespaceName: split(serviceBus.outputs.host, '.')[0]
    queueNames: [registrationRequestsQueue, machineEventsQueue]
    alertEmail: alertEmail
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : 'stregistrar${take(token, 12)}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: 'servicebus'
  scope: rg
  params: {
    name: !empty(serviceBusNamespaceName) ? serviceBusNamespaceName : 'sb-registrar-${token}'
    location: location
    tags: tags
    principalId: identity.outputs.principalId
    queueNames: [registrationRequestsQueue, machineEventsQueue]
    topicName: eventsTopic
    subscriptionName: eventsSubscriptionName
    operatorPrincipalId: deployerId
  }
}

module app 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: !empty(functionAppName) ? functionAppName : 'func-registrar-${token}'
    planName: 'plan-registrar-${token}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    tableEndpoint: storage.outputs.tableEndpoint
    serviceBusHost: serviceBus.outputs.host
    appInsightsConnectionString: monitoring.outputs.connectionString
    registrationRequestsQueue: registrationRequestsQueue
    machineEventsQueue: machineEventsQueue
    eventsTopic: eventsTopic
    authClientId: effectiveClientId
    authTenantId: !empty(authTenantId) ? authTenantId : tenant().tenantId
  }
}

module authAppClients 'modules/entra-app.bicep' = if (createAuthApp) {
  name: 'entra-app-clients'
  scope: rg
  params: {
    uniqueName: authAppName
    displayName: 'Registrar Admin API (${environmentName})'
    withClients: true
    redirectUri: '${app.outputs.url}/.auth/login/aad/callback'
    adminPrincipalId: deployerId
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output FUNCTION_APP_NAME string = app.outputs.name
output FUNCTION_APP_URL string = app.outputs.url
output REGISTRAR_ENDPOINT string = app.outputs.url
output REGISTRAR_APP_CLIENT_ID string = effectiveClientId
output REGISTRAR_SCOPE string = '${effectiveClientId}/.default'
output SERVICEBUS_NAMESPACE string = serviceBus.outputs.host
output TABLE_ENDPOINT string = storage.outputs.tableEndpoint

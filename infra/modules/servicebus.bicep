// Service Bus namespace (local/SAS auth disabled) with the two inbound queues and the events topic.
// Queues: duplicate detection OFF (a dead-letter replay re-sends the original MessageId; the handler's
// own MessageId idempotency does that job). Topic: duplicate detection ON (events have deterministic
// MessageIds, so a re-publish is dropped).
param name string
param location string
param tags object
@description('Principal of the app identity.')
param principalId string
param queueNames array
param topicName string
@description('Example subscription on the topic; sessions give per-cluster order (SessionId = clusterId).')
param subscriptionName string
@description('A person (the deployer) who may send commands to the first queue from a workstation (`registrar register`); empty: none.')
param operatorPrincipalId string = ''

var roles = {
  receiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0' // Azure Service Bus Data Receiver
  sender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39' // Azure Service Bus Data Sender
}

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: name
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Standard' }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
  }
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2022-10-01-preview' = [
  for queue in queueNames: {
    parent: namespace
    name: queue
    properties: {
      lockDuration: 'PT1M'
      maxDeliveryCount: 10
      deadLetteringOnMessageExpiration: true
      requiresDuplicateDetection: false
      requiresSession: false
      defaultMessageTimeToLive: 'P14D'
    }
  }
]

resource topic 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = {
  parent: namespace
  name: topicName
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'P1D'
    defaultMessageTimeToLive: 'P14D'
  }
}

resource eventsSubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: topic
  name: subscriptionName
  properties: {
    requiresSession: true
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    deadLetteringOnMessageExpiration: true
    defaultMessageTimeToLive: 'P14D'
  }
}

// Receive from each queue (trigger, dead-letter listing and replay) and send to it (replay).
resource queueReceivers 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (queue, i) in queueNames: {
    name: guid(namespace.id, queue, principalId, roles.receiver)
    scope: queues[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.receiver)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource queueSenders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (queue, i) in queueNames: {
    name: guid(namespace.id, queue, principalId, roles.sender)
    scope: queues[i]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.sender)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// Publish events (outbox relay).
resource topicSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(topic.id, principalId, roles.sender)
  scope: topic
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.sender)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// The deployer sends Register commands from a workstation (registrar register --namespace ...).
resource operatorSender 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(namespace.id, queueNames[0], operatorPrincipalId, roles.sender)
  scope: queues[0]
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.sender)
    principalId: operatorPrincipalId
  }
}

@description('Fully qualified namespace host name, e.g. sb-x.servicebus.windows.net.')
output host string = split(split(namespace.properties.serviceBusEndpoint, '//')[1], ':')[0]

// Log Analytics workspace and workspace-based Application Insights with local (key) auth disabled;
// the app's identity publishes telemetry with Entra auth (Monitoring Metrics Publisher). The alert
// rules an operator needs (docs/operations.md): dead letters on either queue, failed invocations,
// and events waiting in the outbox longer than 10 minutes.
param workspaceName string
param appInsightsName string
param location string
param tags object
@description('Principal that publishes telemetry.')
param principalId string
@description('Service Bus namespace whose queues are watched for dead letters.')
param serviceBusNamespaceName string
@description('The queues the functions read (their dead letters alert).')
param queueNames array
@description('E-mail address the alerts notify; empty: the alerts fire in the portal only.')
param alertEmail string = ''

var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    DisableLocalAuth: true
  }
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, principalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' existing = {
  name: serviceBusNamespaceName
}

resource operators 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: 'ag-${appInsightsName}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'registrar'
    enabled: true
    emailReceivers: [{ name: 'operators', emailAddress: alertEmail, useCommonAlertSchema: true }]
  }
}

var metricActions = empty(alertEmail) ? [] : [{ actionGroupId: operators.id }]
var logActions = { actionGroups: empty(alertEmail) ? [] : [operators.id] }

// A message that failed MaxDeliveryCount (10) times sits in its queue's dead-letter queue until an
// operator replays it (POST /api/v1/deadletters/{queue}/replay): one is already too many.
resource deadLetters 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'registrar-dead-letters-${serviceBusNamespaceName}'
  location: 'global'
  tags: tags
  properties: {
    description: 'A message was dead-lettered on a Registrar queue: list it with `registrar deadletters <queue>`, fix the cause, replay it.'
    severity: 2
    enabled: true
    scopes: [namespace.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    autoMitigate: true
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'DeadLetteredMessages'
          metricNamespace: 'Microsoft.ServiceBus/namespaces'
          metricName: 'DeadletteredMessages'
          dimensions: [{ name: 'EntityName', operator: 'Include', values: queueNames }]
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Maximum'
        }
      ]
    }
    actions: metricActions
  }
}

// A failed invocation: a transient error of a queue function (Service Bus redelivers it), a failed
// timer run, or an Admin request the handler answered 5xx (the Admin API's own 4xx answers are not
// failures of the function).
resource functionFailures 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'registrar-function-failures-${appInsightsName}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Registrar function failures'
    description: 'An invocation failed: find it and its logs with the queries in docs/operations.md.'
    severity: 2
    enabled: true
    scopes: [appInsights.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: '''
requests
| where success == false
| where not(operation_Name == "Admin" and toint(resultCode) between (400 .. 499))
'''
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: logActions
  }
}

// OutboxRelay logs, every run that finds events pending, how long the oldest has waited since its
// commit (outboxOldestPendingSeconds: in the run's reply Logs, and on the process's stdout or
// stderr, which is also written when the publish fails). Above 600 s (10 minutes) events are not
// reaching the topic.
resource outboxStale 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: 'registrar-outbox-stale-${appInsightsName}'
  location: location
  tags: tags
  kind: 'LogAlert'
  properties: {
    displayName: 'Registrar events pending in the outbox longer than 10 minutes'
    description: 'Committed events have not been published for over 10 minutes: check Service Bus and the OutboxRelay runs (docs/operations.md).'
    severity: 2
    enabled: true
    scopes: [appInsights.id]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: '''
traces
| where message has "outboxOldestPendingSeconds"
| extend oldestPendingSeconds = toint(extract("outboxOldestPendingSeconds[^0-9]+([0-9]+)", 1, message))
| where isnotnull(oldestPendingSeconds)
'''
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'oldestPendingSeconds'
          operator: 'GreaterThan'
          threshold: 600
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: logActions
  }
}

@description('Not a secret: with local auth disabled it only locates the resource; ingestion needs Entra auth.')
output connectionString string = appInsights.properties.ConnectionString

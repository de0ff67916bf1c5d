// Optional Service Bus path: a Standard namespace (Basic has no topics), the topic ADT routes to
// and the bridge's subscription on it. Deployed only with enableServiceBus.
//
// Failed invocations abandon their whole batch and Service Bus redelivers it at once, with no
// backoff, dead-lettering each message after maxDeliveryCount deliveries; so the count is raised
// well above the default 10, and the handler rides out records-hub outages inside the invocation
// for BRIDGE_SERVICEBUS_HOLD seconds, which must stay under lockDuration (batches get no lock renewal).

param name string
param location string
param tags object
param topicName string
param subscriptionName string

@description('How long the bridge holds a message before Service Bus may give it to another reader (ISO 8601, at most PT5M).')
param lockDuration string

@minValue(11)
@description('Deliveries before a message moves to the subscription\'s dead-letter queue.')
param maxDeliveryCount int

@description('How long an undelivered message lives (ISO 8601); then it is dead-lettered.')
param messageTimeToLive string

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    minimumTlsVersion: '1.2'
    // ADT sends and the bridge reads with their identities: no keys.
    disableLocalAuth: true
  }
}

resource topic 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = {
  parent: namespace
  name: topicName
  properties: {
    defaultMessageTimeToLive: messageTimeToLive
  }
}

resource subscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: topic
  name: subscriptionName
  properties: {
    lockDuration: lockDuration
    maxDeliveryCount: maxDeliveryCount
    defaultMessageTimeToLive: messageTimeToLive
    deadLetteringOnMessageExpiration: true
    deadLetteringOnFilterEvaluationExceptions: true
  }
}

output namespaceName string = namespace.name
// serviceBusEndpoint is https://<name>.servicebus.windows.net:443/ ; the host wants the bare host name.
output fullyQualifiedNamespace string = replace(replace(namespace.properties.serviceBusEndpoint, 'https://', ''), ':443/', '')
output topicName string = topic.name
output subscriptionName string = subscription.name

// One role assignment on a Service Bus topic, or on one subscription of it when subscriptionName
// is given (the bridge's trigger needs its rights on the subscription itself).

param namespaceName string
param topicName string
param subscriptionName string = ''
param principalId string
@description('Built-in role definition GUID.')
param roleDefinitionId string

resource namespace 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' existing = {
  name: namespaceName
}

resource topic 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' existing = {
  parent: namespace
  name: topicName
}

resource subscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' existing = {
  parent: topic
  name: empty(subscriptionName) ? 'unused' : subscriptionName
}

resource onTopic 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (empty(subscriptionName)) {
  name: guid(topic.id, principalId, roleDefinitionId)
  scope: topic
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}

resource onSubscription 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(subscriptionName)) {
  name: guid(subscription.id, principalId, roleDefinitionId)
  scope: subscription
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleDefinitionId)
  }
}

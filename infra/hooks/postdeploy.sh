#!/bin/sh
# azd postdeploy hook of the `api` service: point the optional worker app at the image azd has
# just built and deployed to the API app. azd passes its environment (the Bicep outputs and
# SERVICE_API_IMAGE_NAME) to hooks; `az` must be signed in (`az login`), as azd is.
set -eu
if [ -z "${PGASK_WORKER_APP_NAME:-}" ]; then
  exit 0  # no worker app (PGASK_DEPLOY_WORKER=false)
fi
az containerapp update \
  --name "$PGASK_WORKER_APP_NAME" \
  --resource-group "$AZURE_RESOURCE_GROUP" \
  --image "$SERVICE_API_IMAGE_NAME" \
  --output none
echo "worker app $PGASK_WORKER_APP_NAME now runs $SERVICE_API_IMAGE_NAME"

"""The JobService and BatchService servicers."""
from __future__ import annotations

from mnemo.v1 import jobs_pb2, jobs_pb2_grpc

from ..services import Services
from .errors import rpc_errors


@rpc_errors
class JobServicer(jobs_pb2_grpc.JobServiceServicer):
    def __init__(self, services: Services):
        self.jobs = services.jobs

    async def ListJobs(self, request, context):
        return jobs_pb2.ListJobsResponse(jobs=await self.jobs.list(request))

    async def ListActiveJobs(self, request, context):
        request.active = True
        return jobs_pb2.ListJobsResponse(jobs=await self.jobs.list(request))

    async def GetJob(self, request, context):
        return await self.jobs.get(request.job_id)

    async def DeleteJob(self, request, context):
        return await self.jobs.delete(request.job_id)

    async def CancelJob(self, request, context):
        return await self.jobs.cancel(request.job_id)


@rpc_errors
class BatchServicer(jobs_pb2_grpc.BatchServiceServicer):
    def __init__(self, services: Services):
        self.jobs = services.jobs

    async def CreateBatch(self, request, context):
        return await self.jobs.create_batch(request)

    async def ListBatches(self, request, context):
        return jobs_pb2.ListJobsResponse(jobs=await self.jobs.list(request, job_type="batch"))

    async def GetBatch(self, request, context):
        return await self.jobs.get_batch(request.batch_id)

    async def CancelBatch(self, request, context):
        return await self.jobs.cancel_batch(request.batch_id)

    async def ListBatchMessages(self, request, context):
        return await self.jobs.list_batch_messages(request)

bucket         = "changecast-tfstate-123456789012"
key            = "changecast/dev/terraform.tfstate"
region         = "us-east-1"
dynamodb_table = "changecast-tflock"
encrypt        = true
